package bulkverify_test

import (
	"os"
	"time"

	"github.com/keiyaku/keiyaku/bulkverify"
)

// ExampleCSVWriter writes a report's rows and totals as CSV.
func ExampleCSVWriter() {
	w := bulkverify.NewCSVWriter(os.Stdout)
	at := time.Date(2041, 6, 1, 0, 0, 0, 0, time.UTC)
	_ = w.Row(&bulkverify.Row{CaseID: "c1", CaseName: "業務委託契約", File: "spec.txt", Kind: bulkverify.KindEvidenceRecord,
		Object: "RFC 4998 evidence record spec.txt.ers", Time: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), Signer: "TSA 1",
		Result: bulkverify.Passed, Reason: "the data existed at 2026-04-01T00:00:00Z"})
	_ = w.Close(&bulkverify.Summary{CompanyID: "co1", At: at, Started: at, Finished: at, Cases: 1, Objects: 1, Passed: 1})
	// Output:
	// case_id,case_name,completed,file,kind,object,time,signer,result,reason
	// c1,業務委託契約,,spec.txt,evidence-record,RFC 4998 evidence record spec.txt.ers,2026-04-01T00:00:00Z,TSA 1,PASSED,the data existed at 2026-04-01T00:00:00Z
	// #,company,co1,,,,,,,
	// #,completed_from,,,,,,,,
	// #,completed_to,,,,,,,,
	// #,verified_at,2041-06-01T00:00:00Z,,,,,,,
	// #,started,2041-06-01T00:00:00Z,,,,,,,
	// #,finished,2041-06-01T00:00:00Z,,,,,,,
	// #,cases,1,,,,,,,
	// #,objects,1,,,,,,,
	// #,passed,1,,,,,,,
	// #,failed,0,,,,,,,
	// #,indeterminate,0,,,,,,,
}
