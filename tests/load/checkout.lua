-- Checkout under load: every request is a different signed-in user with a
-- one-line cart (scripts/bench_prepare.py), so each checkout is real work.
-- Threads take disjoint slices of the users.
local tokens = {}
local next_i = 0
local nthreads = 2

setup = function(thread)
	thread:set("tid", next_i)
	next_i = next_i + 1
end

init = function(args)
	local i = 0
	for line in io.lines(args[1]) do
		if i % nthreads == tid then
			table.insert(tokens, line)
		end
		i = i + 1
	end
	pos = 0
	body = '{"address":{"name":"压测","phone":"13800138000","province":"上海",' ..
	    '"city":"上海","district":"黄浦区","line":"人民大道200号"}}'
end

request = function()
	pos = pos + 1
	local t = tokens[pos]
	if t == nil then
		t = tokens[1]
	end
	return wrk.format("POST", "/api/v1/orders", {
		["Authorization"] = "Bearer " .. t,
		["Content-Type"] = "application/json"
	}, body)
end

dofile(os.getenv("BANGFU_ROOT") .. "/tests/load/report.lua")
