-- Add-to-cart under load: PUT /cart/items/{id} as signed-in users, the
-- quantity cycling so every write changes the cart.
local tokens = {}
init = function(args)
	for line in io.lines(args[1]) do
		table.insert(tokens, line)
		if #tokens >= 64 then break end
	end
	product = args[2]
	n = 0
end

request = function()
	n = n + 1
	return wrk.format("PUT", "/api/v1/cart/items/" .. product, {
		["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1],
		["Content-Type"] = "application/json"
	}, '{"qty":' .. ((n % 5) + 1) .. '}')
end

dofile(os.getenv("BANGFU_ROOT") .. "/tests/load/report.lua")
