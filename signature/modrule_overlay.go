package signature

import (
	"fmt"
	"io"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// Where a page draws text and images, so that an annotation added over
// them is refused (used by modrule_annotations.go).

type boxKey struct {
	page pdf.Ref
	rev  int
}

// matrix is a PDF transformation matrix [a b c d e f] (ISO 32000-2 §8.3.3).
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m × n: m applied first, then n.
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// box maps the rectangle (x0,y0)-(x1,y1) through m and returns its
// bounding box.
func (m matrix) box(x0, y0, x1, y1 float64) rect {
	r := rect{1e300, 1e300, -1e300, -1e300}
	for _, p := range [][2]float64{{x0, y0}, {x1, y0}, {x0, y1}, {x1, y1}} {
		x := p[0]*m[0] + p[1]*m[2] + m[4]
		y := p[0]*m[1] + p[1]*m[3] + m[5]
		r[0], r[1], r[2], r[3] = min(r[0], x), min(r[1], y), max(r[2], x), max(r[3], y)
	}
	return r
}

func nums(args []pdf.Object) ([]float64, bool) {
	out := make([]float64, len(args))
	for i, o := range args {
		switch v := o.(type) {
		case int64:
			out[i] = float64(v)
		case float64:
			out[i] = v
		default:
			return nil, false
		}
	}
	return out, true
}

// contentBoxes returns, approximately and in default user space, where
// page (as of g.rev) draws text and images. It interprets only what
// positions them (cm, q/Q, text positioning, Do, inline images), not
// fonts: a text run is taken as half an em per byte wide, which is enough
// to tell whether an annotation sits over text. Paths are ignored, as
// full-page white backgrounds and clipping rectangles would make every
// annotation overlap. The result is cached; work is bounded.
func (a *modAnalyzer) contentBoxes(g *graph, page pdf.Ref) []rect {
	if page == (pdf.Ref{}) {
		return nil
	}
	key := boxKey{page, g.rev}
	if b, ok := a.boxes[key]; ok {
		return b
	}
	if a.boxes == nil {
		a.boxes = map[boxKey][]rect{}
	}
	d, _ := a.resolve(page, g.rev).(pdf.Dict)
	cw := &contentWalker{a: a, rev: g.rev, bytesLeft: maxContentBytes, opsLeft: maxContentOps}
	if d != nil {
		res := d
		for range maxWalkDepth {
			if _, ok := res["Resources"]; ok {
				break
			}
			p, _ := a.resolve(res["Parent"], g.rev).(pdf.Dict)
			if p == nil {
				break
			}
			res = p
		}
		resources, _ := a.resolve(res["Resources"], g.rev).(pdf.Dict)
		var data []byte
		contents := a.resolve(d["Contents"], g.rev)
		streams, ok := contents.(pdf.Array)
		if !ok {
			streams = pdf.Array{contents}
		}
		for _, s := range streams {
			data = append(data, cw.read(a.resolve(s, g.rev))...)
			data = append(data, '\n')
		}
		cw.run(data, resources, identity, 0)
	}
	a.boxes[key] = cw.boxes
	return cw.boxes
}

type contentWalker struct {
	a         *modAnalyzer
	rev       int
	boxes     []rect
	bytesLeft int64
	opsLeft   int
}

func (cw *contentWalker) read(o pdf.Object) []byte {
	s, ok := o.(*pdf.Stream)
	if !ok || cw.bytesLeft <= 0 {
		return nil
	}
	r, err := cw.a.f.StreamReader(s, true)
	if err != nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r, cw.bytesLeft))
	cw.bytesLeft -= int64(len(b))
	return b
}

func (cw *contentWalker) add(r rect) {
	if len(cw.boxes) < maxContentBoxes && r[2] > r[0] && r[3] > r[1] {
		cw.boxes = append(cw.boxes, r)
	}
}

func (cw *contentWalker) run(data []byte, res pdf.Dict, ctm matrix, depth int) {
	var (
		stack         []matrix
		tm, tlm       = identity, identity
		size, leading float64
		errStop       = fmt.Errorf("stop")
	)
	show := func(glyphs float64, adjust float64) {
		if size == 0 {
			return
		}
		w := glyphs*0.5*size - adjust/1000*size
		trm := tm.mul(ctm)
		cw.add(trm.box(0, -0.25*size, max(w, 0.5*size), size))
		tm = matrix{1, 0, 0, 1, w, 0}.mul(tm)
	}
	nextLine := func(tx, ty float64) {
		tlm = matrix{1, 0, 0, 1, tx, ty}.mul(tlm)
		tm = tlm
	}
	_ = pdf.ParseContent(data, func(op string, args []pdf.Object) error {
		if cw.opsLeft--; cw.opsLeft < 0 {
			return errStop
		}
		n, numeric := nums(args)
		switch op {
		case "q":
			if len(stack) < 256 {
				stack = append(stack, ctm)
			}
		case "Q":
			if len(stack) > 0 {
				ctm, stack = stack[len(stack)-1], stack[:len(stack)-1]
			}
		case "cm":
			if numeric && len(n) == 6 {
				ctm = matrix(n).mul(ctm)
			}
		case "BT":
			tm, tlm = identity, identity
		case "Tf":
			if len(args) == 2 {
				if v, ok := nums(args[1:]); ok {
					size = v[0]
				}
			}
		case "TL":
			if numeric && len(n) == 1 {
				leading = n[0]
			}
		case "Td", "TD":
			if numeric && len(n) == 2 {
				if op == "TD" {
					leading = -n[1]
				}
				nextLine(n[0], n[1])
			}
		case "Tm":
			if numeric && len(n) == 6 {
				tm, tlm = matrix(n), matrix(n)
			}
		case "T*":
			nextLine(0, -leading)
		case "Tj", "'", "\"":
			if op != "Tj" {
				nextLine(0, -leading)
			}
			if len(args) > 0 {
				if s, ok := args[len(args)-1].(pdf.String); ok {
					show(float64(len(s)), 0)
				}
			}
		case "TJ":
			if len(args) == 1 {
				arr, _ := args[0].(pdf.Array)
				var glyphs, adjust float64
				for _, e := range arr {
					switch v := e.(type) {
					case pdf.String:
						glyphs += float64(len(v))
					case int64:
						adjust += float64(v)
					case float64:
						adjust += v
					}
				}
				show(glyphs, adjust)
			}
		case "BI":
			cw.add(ctm.box(0, 0, 1, 1))
		case "Do":
			if len(args) != 1 {
				break
			}
			name, _ := args[0].(pdf.Name)
			xobjs, _ := cw.a.resolve(res["XObject"], cw.rev).(pdf.Dict)
			x, _ := cw.a.resolve(xobjs[name], cw.rev).(*pdf.Stream)
			if x == nil {
				break
			}
			switch x.Dict.Name("Subtype") {
			case "Image":
				cw.add(ctm.box(0, 0, 1, 1))
			case "Form":
				if depth >= maxFormDepth {
					break
				}
				m := identity
				if arr, ok := cw.a.resolve(x.Dict["Matrix"], cw.rev).(pdf.Array); ok {
					if v, ok := nums(arr); ok && len(v) == 6 {
						m = matrix(v)
					}
				}
				fres, _ := cw.a.resolve(x.Dict["Resources"], cw.rev).(pdf.Dict)
				if fres == nil {
					fres = res
				}
				cw.run(cw.read(x), fres, m.mul(ctm), depth+1)
			}
		}
		return nil
	})
}
