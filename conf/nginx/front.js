// njs for nginx in front of Kore (conf/nginx/http.conf).
//
// Kore 4.1 splits a request head into HTTP_REQ_HEADER_MAX (25) slots, the
// last one a NULL terminator and the first the request line: it keeps 23
// header lines and drops the rest without a word (a Host past them is 400).
// nginx always sends Kore a Host and an X-Forwarded-For of its own
// (server.conf), in place of the client's, and the client's other lines
// less the hop-by-hop ones.  So a request whose other lines are at most
// MAX reaches Kore whole, with or without a Host of its own (HTTP/1.0);
// more is refused.
var KORE_KEEPS = 23;
var NGINX_SETS = { 'host': 1, 'x-forwarded-for': 1 };
var MAX = KORE_KEEPS - Object.keys(NGINX_SETS).length;

function too_many_headers(r) {
	var n = 0;

	r.rawHeadersIn.forEach(function (h) {
		if (!NGINX_SETS[h[0].toLowerCase()])
			n++;
	});
	return n > MAX ? '1' : '';
}

export default { too_many_headers };
