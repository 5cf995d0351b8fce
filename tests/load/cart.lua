-- Add-to-cart under load: PUT /cart/items/{id} as signed-in users, the
-- quantity cycling so every write changes the cart.  The requests are
-- formatted once, in init: the client's work is not what is measured.
local reqs = {}
init = function(args)
	local tokens = {}
	for line in io.lines(args[1]) do
		table.insert(tokens, line)
		if #tokens >= 64 then break end
	end
	local product = args[2]
	-- 64 users x 5 quantities; a user's quantity changes every visit.
	for n = 1, #tokens * 5 do
		reqs[n] = wrk.format("PUT", "/api/v1/cart/items/" .. product, {
			["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1],
			["Content-Type"] = "application/json"
		}, '{"qty":' .. ((n % 5) + 1) .. '}')
	end
	n = 0
end

request = function()
	n = n % #reqs + 1
	return reqs[n]
end

dofile(os.getenv("BANGFU_ROOT") .. "/tests/load/report.lua")
