-- The festival's buying loop (issue 17), one shopper per wrk connection:
-- run with as many threads as connections (-tN -cN), so that each thread's
-- Lua state drives exactly one connection and can follow its shopper's
-- steps in order (wrk does not say which connection an answer came on).
--
-- args: tokens-file product-id threads mode [out-file]
--   mode "hot":  PUT /cart/items/{product} then POST /orders, again and
--                again, each loop a new signed-in user (one order each, so
--                no user meets MAX_UNPAID_ORDERS or the checkout rate limit)
--   mode "paid": the same, then POST /orders/{id}/payments (sandbox) and
--                the cashier's POST /sandbox/pay/{payment_id} (303)
-- Thread t takes the users whose line number is t modulo threads.
--
-- Each step is timed on the monotonic clock (LuaJIT's FFI); done() prints
-- one BENCH line per step (count of expected answers, per second, p50,
-- p99) and the mix of statuses, then the summary line of report.lua.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int, bench_timespec *);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
	ffi.C.clock_gettime(1, ts)
	return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
local nthreads_seen = 0

setup = function(thread)
	thread:set("tid", nthreads_seen)
	nthreads_seen = nthreads_seen + 1
	table.insert(threads, thread)
end

local STEPS = { "cart", "order", "pay", "cashier" }
-- The status mix (statuses.lua, beside this script).
local statuses = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") ..
    "statuses.lua")
local count_status, status_mix = statuses.count_status, statuses.status_mix
local OK = { cart = 200, order = 201, pay = 201, cashier = 303 }

init = function(args)
	local nthreads = tonumber(args[3])
	product = args[2]
	mode = args[4] or "hot"
	tokens = {}
	local i = 0
	for line in io.lines(args[1]) do
		if i % nthreads == tid then
			table.insert(tokens, line)
		end
		i = i + 1
	end
	user = 0
	step = "cart"
	-- Flat tables only: wrk 4.1's thread:get() crashes on nested ones.
	-- lat_<step>: latencies in ms.
	lat_cart, lat_order, lat_pay, lat_cashier = {}, {}, {}, {}
	lat = { cart = lat_cart, order = lat_order, pay = lat_pay,
		cashier = lat_cashier }
	ok = { cart = 0, order = 0, pay = 0, cashier = 0 }
	address = '{"address":{"name":"压测","phone":"13800138000",' ..
	    '"province":"上海","city":"上海","district":"黄浦区",' ..
	    '"line":"人民大道200号"}}'
	next_user()
end

function next_user()
	user = user % #tokens + 1
	auth = "Bearer " .. tokens[user]
	step = "cart"
end

request = function()
	t0 = now_ms()
	if step == "cart" then
		return wrk.format("PUT", "/api/v1/cart/items/" .. product, {
			["Authorization"] = auth,
			["Content-Type"] = "application/json" }, '{"qty":1}')
	elseif step == "order" then
		return wrk.format("POST", "/api/v1/orders", {
			["Authorization"] = auth,
			["Content-Type"] = "application/json" }, address)
	elseif step == "pay" then
		return wrk.format("POST", "/api/v1/orders/" .. order_id ..
		    "/payments", { ["Authorization"] = auth,
			["Content-Type"] = "application/json" },
		    '{"provider":"sandbox"}')
	else
		return wrk.format("POST", "/sandbox/pay/" .. payment_id, {
			["Content-Type"] = "application/x-www-form-urlencoded" },
		    "status=succeeded")
	end
end

response = function(status, headers, body)
	local l = lat[step]
	l[#l + 1] = now_ms() - t0
	count_status(step, status)
	if status ~= OK[step] then
		next_user()
		return
	end
	ok[step] = ok[step] + 1
	ok_cart, ok_order, ok_pay, ok_cashier = ok.cart, ok.order, ok.pay,
	    ok.cashier
	if step == "cart" then
		step = "order"
	elseif step == "order" then
		if mode == "paid" then
			order_id = string.match(body, '^{"id":(%d+)') or
			    string.match(body, '"id":(%d+)')
			step = "pay"
		else
			next_user()
		end
	elseif step == "pay" then
		payment_id = string.match(body, '"payment_id":(%d+)')
		step = "cashier"
	else
		next_user()
	end
end

local function pct(t, p)
	if #t == 0 then
		return 0
	end
	table.sort(t)
	local i = math.ceil(#t * p / 100)
	if i < 1 then i = 1 end
	return t[i]
end

done = function(summary, latency, requests)
	local secs = summary.duration / 1e6
	local all = { cart = {}, order = {}, pay = {}, cashier = {} }
	local mix = status_mix(threads, STEPS)
	local oks = { cart = 0, order = 0, pay = 0, cashier = 0 }
	for _, t in ipairs(threads) do
		for _, s in ipairs(STEPS) do
			for _, v in ipairs(t:get("lat_" .. s)) do
				all[s][#all[s] + 1] = v
			end
			oks[s] = oks[s] + (t:get("ok_" .. s) or 0)
		end
	end
	for _, s in ipairs(STEPS) do
		if #all[s] > 0 then
			io.write(string.format(
			    "STEP %s ok=%d ok_per_s=%.1f p50_ms=%.2f p99_ms=%.2f\n",
			    s, oks[s], oks[s] / secs, pct(all[s], 50),
			    pct(all[s], 99)))
		end
	end
	local keys = {}
	for k in pairs(mix) do keys[#keys + 1] = k end
	table.sort(keys)
	local parts = {}
	for _, k in ipairs(keys) do
		parts[#parts + 1] = k .. "=" .. mix[k]
	end
	io.write("MIX " .. table.concat(parts, " ") .. "\n")
	io.write(string.format("BENCH rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
	    summary.requests / secs, latency:percentile(50) / 1000,
	    latency:percentile(99) / 1000, summary.errors.connect +
	    summary.errors.read + summary.errors.write + summary.errors.timeout))
end
