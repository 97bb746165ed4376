// Package kerr is keiyaku's error model: one small, stable set of error kinds
// shared by every package, and an *Error that carries a kind, the operation
// that failed and a message saying what was wrong and how to fix it.
//
// Test for a kind with errors.Is(err, kerr.NotFound); extract the details with
// errors.As(err, &e) where e is a *kerr.Error. Each layer wraps once, adding
// its operation name:
//
//	return kerr.Wrap("casework.Return", err)
//
// A wrapping *Error with no kind of its own takes the kind of the error it
// wraps, so the kind set at the bottom survives every layer. Only httpapi
// turns kinds into HTTP statuses. The model follows go-cloud's gcerrors and
// upspin's errors package.
//
// A refusal users meet carries a stable message code too (M, MW: a
// *Coded with named parameters, found with CodeOf or errors.As), so that
// package kerr/kmsg can say it once in Japanese or English, without the
// operation names of the layers:
//
//	return kerr.M(kerr.Invalid, op, "upload.empty", "the upload {file} is empty: choose the file again and upload it", kerr.P("file", name))
package kerr
