package signature

import "slices"

// verdict gathers what is wrong with one signature while it is checked.
// The first TOTAL_FAILED finding decides the indication; failing that, the
// first INDETERMINATE one. Every finding adds its reason.
type verdict struct {
	failedSub, indetSub SubIndication
	hasFailed, hasIndet bool
	reasons             []string
	// problems are the reasons that made the verdict worse than passed.
	problems []string
}

// fail records a finding that makes the signature TOTAL_FAILED.
func (vd *verdict) fail(sub SubIndication, reason string) {
	if !vd.hasFailed {
		vd.hasFailed, vd.failedSub = true, sub
	}
	vd.problem(reason)
}

// indeterminate records a finding that leaves the signature INDETERMINATE
// unless something fails it outright.
func (vd *verdict) indeterminate(sub SubIndication, reason string) {
	if !vd.hasIndet {
		vd.hasIndet, vd.indetSub = true, sub
	}
	vd.problem(reason)
}

func (vd *verdict) problem(reason string) {
	if reason != "" && !slices.Contains(vd.problems, reason) {
		vd.problems = append(vd.problems, reason)
	}
	vd.note(reason)
}

// note adds a reason that does not change the indication; a reason given
// twice is kept once.
func (vd *verdict) note(reason string) {
	if reason != "" && !slices.Contains(vd.reasons, reason) {
		vd.reasons = append(vd.reasons, reason)
	}
}

func (vd *verdict) result() (Indication, SubIndication) {
	switch {
	case vd.hasFailed:
		return TotalFailed, vd.failedSub
	case vd.hasIndet:
		return Indeterminate, vd.indetSub
	}
	return TotalPassed, ""
}
