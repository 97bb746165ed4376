package casework_test

import (
	"fmt"
	"time"

	"github.com/keiyaku/keiyaku/casework"
)

// A company whose fiscal year ends in March, with the filing deadline
// extended by a month, counts the 10 years of a contract completed on
// 31 March 2026 (JST) from 1 July 2026; set to be deleted at the end, the
// sweep may delete it from 1 July 2036.
func ExampleRetentionStart() {
	jst := time.FixedZone("JST", 9*3600)
	completed := time.Date(2026, 3, 31, 18, 0, 0, 0, jst)
	set := casework.RetentionSettings{FiscalYear: true, FiscalYearEndMonth: 3, FilingExtensionMonths: 1}
	start, rule := casework.RetentionStart(completed, jst, set)
	fmt.Println(start, rule)
	fmt.Println(casework.RetentionUntil(start, casework.RetainDelete))
	fmt.Println(casework.RetentionUntil(start, casework.RetainExtend))
	// Output:
	// 2026-07-01 fiscal-year end=3 extension=1
	// 2036-07-01
	// 2041-07-01
}
