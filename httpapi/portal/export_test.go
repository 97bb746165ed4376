package portal

// Exported for the tests of package portal_test.
var (
	ParseRegisterForm = parseRegisterForm
	ParseSearch       = parseSearch
	ParseCertificate  = parseCertificateFile
)

// Exported for the tests of the administrator's pages.
var (
	ParseAllowListText = parseAllowListText
	ParseHidden        = parseHidden
)
