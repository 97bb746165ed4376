package portal

// Exported for the tests of the disclosure pages.
var ParsePeriodForm = parsePeriodForm
