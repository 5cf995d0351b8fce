// njs for nginx in front of Kore (conf/nginx/http.conf).
//
// Kore 4.1 splits a request head into HTTP_REQ_HEADER_MAX (25) slots, the
// last one a NULL terminator and the first the request line: it keeps 23
// header lines and drops the rest without a word (a Host past them is 400).
// nginx sends Kore the client's header lines less the hop-by-hop ones, plus
// at most one of its own (X-Forwarded-For, when the client sent none), so a
// request of at most MAX header lines reaches Kore whole; more is refused.
var MAX = 22;

function too_many_headers(r) {
	return r.rawHeadersIn.length > MAX ? '1' : '';
}

export default { too_many_headers };
