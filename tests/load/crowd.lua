-- The hot item for a crowd (issue 17): many keep-alive connections, each a
-- shopper putting the product in the cart then checking out, again and
-- again, each loop a new signed-in user.  A few wrk threads carry all the
-- connections, so a thread cannot tell its connections' answers apart:
-- each loop is therefore sent as one pipelined pair (PUT then POST on the
-- same connection; nginx and Kore answer a connection's requests in order,
-- so the checkout always sees the cart the PUT wrote).  wrk's latency is
-- then the time a shopper waits for both answers.
--
-- args: tokens-file product-id threads
local next_tid = 0
local threads = {}
local STEPS = { "cart", "order" }
-- The status mix (statuses.lua, beside this script).
local statuses = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") ..
    "statuses.lua")
local count_status, status_mix = statuses.count_status, statuses.status_mix

setup = function(thread)
	thread:set("tid", next_tid)
	next_tid = next_tid + 1
	table.insert(threads, thread)
end

init = function(args)
	local nthreads = tonumber(args[3])
	product = args[2]
	tokens = {}
	local i = 0
	for line in io.lines(args[1]) do
		if i % nthreads == (tid or 0) then
			table.insert(tokens, line)
		end
		i = i + 1
	end
	user = 0
	address = '{"address":{"name":"压测","phone":"13800138000",' ..
	    '"province":"上海","city":"上海","district":"黄浦区",' ..
	    '"line":"人民大道200号"}}'
end

request = function()
	user = user % #tokens + 1
	local auth = "Bearer " .. tokens[user]
	return wrk.format("PUT", "/api/v1/cart/items/" .. product, {
		["Authorization"] = auth,
		["Content-Type"] = "application/json" }, '{"qty":1}') ..
	    wrk.format("POST", "/api/v1/orders", {
		["Authorization"] = auth,
		["Content-Type"] = "application/json" }, address)
end

response = function(status, headers, body)
	-- The cart's answer (200) or the checkout's (201, or a problem).
	local step = "order"
	if status == 200 or string.find(body, '"item_count"', 1, true) then
		step = "cart"
	end
	count_status(step, status)
end

done = function(summary, latency, requests)
	local secs = summary.duration / 1e6
	local mix = status_mix(threads, STEPS)
	local keys = {}
	for k in pairs(mix) do keys[#keys + 1] = k end
	table.sort(keys)
	local parts = {}
	for _, k in ipairs(keys) do
		parts[#parts + 1] = k .. "=" .. mix[k]
	end
	io.write("MIX " .. table.concat(parts, " ") .. "\n")
	io.write(string.format(
	    "STEP order ok=%d ok_per_s=%.1f p50_ms=%.2f p99_ms=%.2f\n",
	    mix["order:201"] or 0, (mix["order:201"] or 0) / secs,
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
	io.write(string.format("BENCH rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
	    summary.requests / secs, latency:percentile(50) / 1000,
	    latency:percentile(99) / 1000, summary.errors.connect +
	    summary.errors.read + summary.errors.write + summary.errors.timeout))
end
