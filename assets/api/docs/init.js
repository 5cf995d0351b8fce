/* Renders the contract served by this server; nothing is fetched elsewhere. */
Redoc.init("/api/v1/openapi.json", {
	expandResponses: "200,201,202",
	hideDownloadButton: false,
	jsonSampleExpandLevel: 3,
	sortTagsAlphabetically: false
}, document.getElementById("redoc"));
