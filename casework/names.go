package casework

import (
	"strings"
	"unicode/utf8"
)

// invisible reports the characters no name (case, counterparty, file) may
// hold, because they change how the name is shown rather than what it
// says: C0 and C1 controls and DEL; the bidirectional embeddings,
// overrides and isolates (U+202A–U+202E, U+2066–U+2069) and marks
// (U+200E, U+200F, U+061C) of Unicode UAX #9, with which "txt.exe" can be
// shown as "exe.txt"; zero-width characters (U+200B–U+200D, U+2060,
// U+FEFF) that make two names look the same; and the Unicode "tag" block
// (U+E0000–U+E007F).
func invisible(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r < 0xa0:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x061c, r == 0x2060, r == 0xfeff, r >= 0xe0000 && r <= 0xe007f:
		return true
	}
	return false
}

// MaxFileNameBytes bounds a file name after SafeFileName, in bytes of UTF-8
// (255 is what most file systems allow for one name).
const MaxFileNameBytes = 255

// SafeFileName reduces name to a base name that is safe to offer for
// download on any common system, keeping Japanese and other letters: it
// drops everything up to the last '/' or '\' (no directories), removes the
// invisible characters invisible names, replaces the characters Windows
// forbids (< > : " | ? *) with '_', trims spaces and dots at both ends
// (Windows drops trailing ones; a leading dot hides the file), and cuts it
// to MaxFileNameBytes at a character boundary, keeping the extension. A
// name left empty, or one of Windows' reserved device names, becomes
// "file" (plus its extension). Registration stores file names in this form.
func SafeFileName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case invisible(r):
			return -1
		case strings.ContainsRune(`<>:"|?*`, r):
			return '_'
		}
		return r
	}, name)
	name = strings.Trim(name, " .　")
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
		ext = name[i:]
	}
	stem := strings.TrimSuffix(name, ext)
	switch strings.ToUpper(stem) {
	case "", "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		stem = "file"
	}
	for len(stem)+len(ext) > MaxFileNameBytes {
		_, n := utf8.DecodeLastRuneInString(stem)
		stem = stem[:len(stem)-n]
	}
	return stem + ext
}
