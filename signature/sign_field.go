package signature

import (
	"fmt"
	"strconv"
	"unicode/utf16"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// Limits of the walks over the form and the page tree.
const (
	swMaxFields = 10000
	swMaxPages  = 1 << 20
	swMaxTree   = 32
)

// swFieldSpec says what field swAddField makes.
type swFieldSpec struct {
	name          string // "" = prefix + lowest unused number
	prefix        string
	visible       *Appearance
	defaultText   string // appearance text when visible.Text is empty
	certification bool
}

// swAddField creates (or fills) the signature field whose /V is sigRef,
// hooks its widget into a page and the form, and marks certification
// signatures in the catalog (ISO 32000-2 §12.7.5.5, §12.8.2.2). It returns
// the catalog as it will be after the update.
func swAddField(u *swUpdate, sigRef pdf.Ref, opts swFieldSpec) (pdf.Dict, error) {
	rootRef, ok := u.trailer["Root"].(pdf.Ref)
	if !ok {
		return nil, fmt.Errorf("%w: trailer /Root is not an indirect reference", ErrUnsupportedDocument)
	}
	cat0, err := u.f.Catalog(u.last)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedDocument, err)
	}
	cat := swCopyDict(cat0)
	catChanged := false

	if p, err := swDocMDP(u, cat); err != nil {
		return nil, err
	} else if p == 1 {
		return nil, fmt.Errorf("%w: the certification signature allows no changes (DocMDP P=1)", ErrNotPermitted)
	}

	// The form, its fields, their names and how many are signed.
	var acro pdf.Dict
	acroRef, acroIsRef := cat["AcroForm"].(pdf.Ref)
	if o, err := u.object(cat["AcroForm"]); err != nil {
		return nil, fmt.Errorf("%w: /AcroForm: %w", ErrUnsupportedDocument, err)
	} else if d, ok := o.(pdf.Dict); ok {
		acro = swCopyDict(d)
	} else {
		acro = pdf.Dict{}
		acroIsRef = false
	}
	fieldsObj := acro["Fields"]
	fieldsRef, fieldsIsRef := fieldsObj.(pdf.Ref)
	var fields pdf.Array
	if o, err := u.object(fieldsObj); err != nil {
		return nil, fmt.Errorf("%w: /AcroForm /Fields: %w", ErrUnsupportedDocument, err)
	} else if a, ok := o.(pdf.Array); ok {
		fields = a
	} else {
		fieldsIsRef = false
	}
	if len(fields) > swMaxFields {
		return nil, fmt.Errorf("%w: more than %d form fields", ErrUnsupportedDocument, swMaxFields)
	}
	names := map[string]pdf.Ref{}
	existing := map[string]pdf.Dict{}
	budget := swMaxFields
	signed := 0
	for _, fo := range fields {
		d, err := u.object(fo)
		fd, ok := d.(pdf.Dict)
		if err != nil || !ok {
			continue
		}
		name := swDecodeText(fd["T"])
		if r, ok := fo.(pdf.Ref); ok {
			names[name], existing[name] = r, fd
		} else {
			names[name], existing[name] = pdf.Ref{}, fd
		}
		signed += swCountSigned(u, fd, "", 0, &budget)
	}
	if opts.certification && signed > 0 {
		return nil, fmt.Errorf("%w: a certification signature must be the first signature, and the document has %d", ErrNotPermitted, signed)
	}

	name := opts.name
	if name == "" {
		for n := 1; ; n++ {
			name = opts.prefix + strconv.Itoa(n)
			if _, taken := names[name]; !taken {
				break
			}
		}
	}
	var ap pdf.Dict
	rect := pdf.Array{int64(0), int64(0), int64(0), int64(0)}
	if v := opts.visible; v != nil {
		rect = pdf.Array{v.Rect[0], v.Rect[1], v.Rect[2], v.Rect[3]}
		text := v.Text
		if text == "" {
			text = opts.defaultText
		}
		var apRef pdf.Ref
		var err error
		if v.Font != nil {
			apRef, err = swAppearanceFont(u, v.Rect[2]-v.Rect[0], v.Rect[3]-v.Rect[1], text, v.Font, v.Image)
		} else {
			apRef, err = swAppearance(u, v.Rect[2]-v.Rect[0], v.Rect[3]-v.Rect[1], text)
		}
		if err != nil {
			return nil, err
		}
		ap = pdf.Dict{"N": apRef}
	}

	sigFlags, _ := acro.Int("SigFlags")
	acroChanged := sigFlags|3 != sigFlags
	acro["SigFlags"] = sigFlags | 3 // SignaturesExist | AppendOnly (§12.7.3)

	if fd, ok := existing[name]; ok {
		// Sign an existing empty signature field in place.
		ref := names[name]
		if fd.Name("FT") != "Sig" || fd["V"] != nil || fd.Name("Subtype") != "Widget" || ref == (pdf.Ref{}) {
			return nil, fmt.Errorf("%w: Field %q exists and is not an empty signature field with a merged widget", ErrInvalidSignOptions, name)
		}
		fd = swCopyDict(fd)
		fd["V"] = sigRef
		if ap != nil {
			fd["AP"], fd["Rect"] = ap, rect
		}
		if err := u.set(ref, fd); err != nil {
			return nil, err
		}
	} else {
		pageIndex := 0
		if opts.visible != nil && opts.visible.Page > 0 {
			pageIndex = opts.visible.Page - 1
		}
		pageRef, page, err := swFindPage(u, cat["Pages"], pageIndex)
		if err != nil {
			return nil, err
		}
		widgetRef := u.newRef()
		widget := pdf.Dict{
			"Type": pdf.Name("Annot"), "Subtype": pdf.Name("Widget"),
			"FT": pdf.Name("Sig"), "T": swText(name), "V": sigRef,
			"F":    int64(132), // Print | Locked (§12.5.3)
			"Rect": rect, "P": pageRef,
		}
		if ap != nil {
			widget["AP"] = ap
		}
		if err := u.set(widgetRef, widget); err != nil {
			return nil, err
		}
		// Hook the widget into the page's /Annots.
		switch a := page["Annots"].(type) {
		case pdf.Ref:
			o, err := u.object(a)
			arr, ok := o.(pdf.Array)
			if err != nil || !ok && o != nil {
				return nil, fmt.Errorf("%w: page /Annots %v is not an array", ErrUnsupportedDocument, a)
			}
			if err := u.set(a, append(append(pdf.Array{}, arr...), widgetRef)); err != nil {
				return nil, err
			}
		case pdf.Array, nil:
			np := swCopyDict(page)
			arr, _ := a.(pdf.Array)
			np["Annots"] = append(append(pdf.Array{}, arr...), widgetRef)
			if err := u.set(pageRef, np); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: page /Annots is a %T", ErrUnsupportedDocument, a)
		}
		// And into the form's /Fields.
		newFields := append(append(pdf.Array{}, fields...), widgetRef)
		if fieldsIsRef {
			if err := u.set(fieldsRef, newFields); err != nil {
				return nil, err
			}
		} else {
			acro["Fields"] = newFields
			acroChanged = true
		}
	}
	if acroChanged {
		if acroIsRef {
			if err := u.set(acroRef, acro); err != nil {
				return nil, err
			}
		} else {
			cat["AcroForm"] = acro
			catChanged = true
		}
	}
	if opts.certification {
		perms := pdf.Dict{}
		if o, err := u.object(cat["Perms"]); err == nil {
			if d, ok := o.(pdf.Dict); ok {
				perms = swCopyDict(d)
			}
		}
		perms["DocMDP"] = sigRef
		cat["Perms"] = perms
		catChanged = true
	}
	if catChanged {
		return cat, u.set(rootRef, cat)
	}
	return cat, nil
}

// swDocMDP returns the P value of the document's certification signature
// (catalog /Perms /DocMDP, §12.8.2.2), 0 when there is none.
func swDocMDP(u *swUpdate, cat pdf.Dict) (int64, error) {
	perms, _ := swResolveDict(u, cat["Perms"])
	sig, _ := swResolveDict(u, perms["DocMDP"])
	refs, _ := u.object(sig["Reference"])
	arr, _ := refs.(pdf.Array)
	for i, r := range arr {
		if i == 16 {
			break
		}
		d, _ := swResolveDict(u, r)
		if d.Name("TransformMethod") != "DocMDP" {
			continue
		}
		params, _ := swResolveDict(u, d["TransformParams"])
		if p, ok := params.Int("P"); ok {
			return p, nil
		}
		return 2, nil // §12.8.2.2.2: default P is 2
	}
	return 0, nil
}

func swResolveDict(u *swUpdate, o pdf.Object) (pdf.Dict, bool) {
	r, err := u.object(o)
	if err != nil {
		return nil, false
	}
	d, ok := r.(pdf.Dict)
	return d, ok
}

// swCountSigned counts signature fields with a value below field d.
func swCountSigned(u *swUpdate, d pdf.Dict, inheritedFT pdf.Name, depth int, budget *int) int {
	*budget--
	if depth > swMaxTree || *budget < 0 {
		return 0
	}
	ft := d.Name("FT")
	if ft == "" {
		ft = inheritedFT
	}
	n := 0
	if ft == "Sig" && d["V"] != nil {
		n++
	}
	kids, _ := u.object(d["Kids"])
	arr, _ := kids.(pdf.Array)
	for _, k := range arr {
		if kd, ok := swResolveDict(u, k); ok {
			n += swCountSigned(u, kd, ft, depth+1, budget)
		}
	}
	return n
}

// swFindPage returns the index-th page (0-based) of the page tree (§7.7.3).
func swFindPage(u *swUpdate, pages pdf.Object, index int) (pdf.Ref, pdf.Dict, error) {
	node := pages
	visited := 0
	for depth := 0; depth < swMaxTree; depth++ {
		d, ok := swResolveDict(u, node)
		if !ok {
			return pdf.Ref{}, nil, fmt.Errorf("%w: page tree node %v is not a dictionary", ErrUnsupportedDocument, node)
		}
		kidsObj, _ := u.object(d["Kids"])
		kids, _ := kidsObj.(pdf.Array)
		descended := false
		for _, k := range kids {
			if visited++; visited > swMaxPages {
				return pdf.Ref{}, nil, fmt.Errorf("%w: page tree larger than %d nodes", ErrUnsupportedDocument, swMaxPages)
			}
			kd, ok := swResolveDict(u, k)
			if !ok {
				continue
			}
			if _, isNode := kd["Kids"]; isNode || kd.Name("Type") == "Pages" {
				c, _ := kd.Int("Count")
				if int64(index) < c {
					node, descended = k, true
					break
				}
				index -= int(c)
				continue
			}
			if index == 0 {
				ref, ok := k.(pdf.Ref)
				if !ok {
					return pdf.Ref{}, nil, fmt.Errorf("%w: page is not an indirect object", ErrUnsupportedDocument)
				}
				return ref, kd, nil
			}
			index--
		}
		if !descended {
			return pdf.Ref{}, nil, fmt.Errorf("%w: the document has no such page", ErrInvalidSignOptions)
		}
	}
	return pdf.Ref{}, nil, fmt.Errorf("%w: page tree deeper than %d", ErrUnsupportedDocument, swMaxTree)
}

// swDecodeText decodes a text string (§7.9.2.2): UTF-16BE with BOM, else
// bytes taken as Latin-1 (PDFDocEncoding agrees on the printable ASCII
// that field names use).
func swDecodeText(o pdf.Object) string {
	s, ok := o.(pdf.String)
	if !ok {
		return ""
	}
	if len(s) >= 2 && s[0] == 0xfe && s[1] == 0xff {
		u := make([]uint16, 0, len(s)/2)
		for i := 2; i+1 < len(s); i += 2 {
			u = append(u, uint16(s[i])<<8|uint16(s[i+1]))
		}
		return string(utf16.Decode(u))
	}
	r := make([]rune, len(s))
	for i, c := range s {
		r[i] = rune(c)
	}
	return string(r)
}
