package linkvault

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Decimal is an exact decimal number for money and crypto amounts. Exchanges publish
// amounts as decimal strings ("0.00000220", "9999999999.99999999"); a float64 cannot
// hold most of them exactly, and an amount that changes on its way from the exchange
// to a transfer is a wrong amount. Decimal keeps the digits it was given.
//
// The zero value is 0. A Decimal is a small comparable value (the canonical text:
// no exponent, no leading zeros, no trailing fractional zeros, "-" for negatives), so
// == compares numbers. Arithmetic works on math/big integers and is exact, except
// Quo and the Round* methods, which round to a given number of places.
//
// JSON: a Decimal marshals as a JSON number written with its exact digits (Mesh's
// schemas declare amounts as numbers) and unmarshals from a JSON number or a JSON
// string. Requests to exchanges carry String(), a plain decimal string.
type Decimal struct {
	s string // canonical form; "" means 0
}

// Bounds on what ParseDecimal accepts, so hostile input cannot make arithmetic slow:
// amounts on every exchange fit in far fewer digits.
const (
	maxDecimalDigits = 80 // significant digits before and after the point, together
	maxDecimalScale  = 36 // digits after the point
)

// ErrDecimalSyntax reports text that is not a decimal number within the bounds.
var ErrDecimalSyntax = errors.New("linkvault: not a decimal number")

// ParseDecimal parses a decimal number: an optional sign, digits with an optional
// fractional part, and an optional exponent ("1e-8"). NaN, infinities, hex and
// numbers beyond 80 significant digits or 36 fractional digits are refused.
func ParseDecimal(s string) (Decimal, error) {
	coef, scale, ok := parseDecimalParts(strings.TrimSpace(s))
	if !ok {
		return Decimal{}, ErrDecimalSyntax
	}
	return fromParts(coef, scale), nil
}

// MustDecimal is ParseDecimal for constants; it panics on bad input.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic("linkvault: MustDecimal(" + strconv.Quote(s) + "): " + err.Error())
	}
	return d
}

// DecimalFromInt returns i as a Decimal.
func DecimalFromInt(i int64) Decimal { return fromParts(big.NewInt(i), 0) }

// DecimalFromFloat converts f using the shortest decimal text that reads back as f
// (strconv 'g', -1): a float64 that came from a JSON "0.1" becomes exactly 0.1. It
// reports false for NaN and infinities. Use it only where a float64 already exists
// at a boundary; new code should carry Decimals.
func DecimalFromFloat(f float64) (Decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Decimal{}, false
	}
	d, err := ParseDecimal(strconv.FormatFloat(f, 'g', -1, 64))
	return d, err == nil
}

// parseDecimalParts splits s into an integer coefficient and a scale (s = coef·10^-scale).
func parseDecimalParts(s string) (*big.Int, int, bool) {
	if s == "" {
		return nil, 0, false
	}
	neg := false
	switch s[0] {
	case '+', '-':
		neg = s[0] == '-'
		s = s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 1000 || e < -1000 {
			return nil, 0, false
		}
		exp = e
	}
	intPart, frac, hasPoint := strings.Cut(mant, ".")
	if intPart == "" && frac == "" || hasPoint && strings.Contains(frac, ".") {
		return nil, 0, false
	}
	digits := intPart + frac
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return nil, 0, false
		}
	}
	digits = strings.TrimLeft(digits, "0")
	scale := len(frac) - exp
	// Trailing zeros carry no value: drop them before checking the bounds.
	for len(digits) > 0 && digits[len(digits)-1] == '0' && scale > 0 {
		digits = digits[:len(digits)-1]
		scale--
	}
	if digits == "" {
		return new(big.Int), 0, true
	}
	if scale < 0 {
		if len(digits)-scale > maxDecimalDigits {
			return nil, 0, false
		}
		digits += strings.Repeat("0", -scale)
		scale = 0
	}
	if len(digits) > maxDecimalDigits || scale > maxDecimalScale {
		return nil, 0, false
	}
	coef, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return nil, 0, false
	}
	if neg {
		coef.Neg(coef)
	}
	return coef, scale, true
}

// fromParts builds the canonical Decimal of coef·10^-scale.
func fromParts(coef *big.Int, scale int) Decimal {
	if coef.Sign() == 0 {
		return Decimal{}
	}
	neg := coef.Sign() < 0
	digits := new(big.Int).Abs(coef).String()
	for scale > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		scale--
	}
	for ; scale < 0; scale++ {
		digits += "0"
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if scale == 0 {
		b.WriteString(digits)
	} else if len(digits) > scale {
		b.WriteString(digits[:len(digits)-scale])
		b.WriteByte('.')
		b.WriteString(digits[len(digits)-scale:])
	} else {
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", scale-len(digits)))
		b.WriteString(digits)
	}
	return Decimal{s: b.String()}
}

// parts returns d as coef·10^-scale. The canonical text always parses.
func (d Decimal) parts() (*big.Int, int) {
	if d.s == "" {
		return new(big.Int), 0
	}
	intPart, frac, _ := strings.Cut(d.s, ".")
	coef, _ := new(big.Int).SetString(intPart+frac, 10)
	return coef, len(frac)
}

// String returns the canonical decimal text: "0", "1.5", "-0.00000001".
func (d Decimal) String() string {
	if d.s == "" {
		return "0"
	}
	return d.s
}

// IsZero reports whether d is 0.
func (d Decimal) IsZero() bool { return d.s == "" }

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int {
	switch {
	case d.s == "":
		return 0
	case d.s[0] == '-':
		return -1
	}
	return 1
}

// Scale is the number of digits after the point.
func (d Decimal) Scale() int {
	_, frac, _ := strings.Cut(d.s, ".")
	return len(frac)
}

// align returns both coefficients at the larger of the two scales.
func align(a, b Decimal) (*big.Int, *big.Int, int) {
	ca, sa := a.parts()
	cb, sb := b.parts()
	switch {
	case sa < sb:
		ca.Mul(ca, pow10(sb-sa))
		sa = sb
	case sb < sa:
		cb.Mul(cb, pow10(sa-sb))
	}
	return ca, cb, sa
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// Cmp compares d and e: -1 if d < e, 0 if equal, +1 if d > e.
func (d Decimal) Cmp(e Decimal) int {
	if d == e {
		return 0
	}
	a, b, _ := align(d, e)
	return a.Cmp(b)
}

// LessThan reports whether d < e.
func (d Decimal) LessThan(e Decimal) bool { return d.Cmp(e) < 0 }

// Add returns d + e.
func (d Decimal) Add(e Decimal) Decimal {
	a, b, s := align(d, e)
	return fromParts(a.Add(a, b), s)
}

// Sub returns d - e.
func (d Decimal) Sub(e Decimal) Decimal {
	a, b, s := align(d, e)
	return fromParts(a.Sub(a, b), s)
}

// Mul returns d × e, exactly.
func (d Decimal) Mul(e Decimal) Decimal {
	a, sa := d.parts()
	b, sb := e.parts()
	return fromParts(a.Mul(a, b), sa+sb)
}

// Neg returns -d.
func (d Decimal) Neg() Decimal {
	switch {
	case d.s == "":
		return d
	case d.s[0] == '-':
		return Decimal{s: d.s[1:]}
	}
	return Decimal{s: "-" + d.s}
}

// Abs returns |d|.
func (d Decimal) Abs() Decimal {
	if d.Sign() < 0 {
		return d.Neg()
	}
	return d
}

// Quo returns d ÷ e rounded half away from zero to places digits after the point.
// It reports false when e is 0.
func (d Decimal) Quo(e Decimal, places int) (Decimal, bool) {
	if e.IsZero() {
		return Decimal{}, false
	}
	a, sa := d.parts()
	b, sb := e.parts()
	// d/e = (a/b)·10^(sb-sa); scale the numerator so the quotient has places+1 digits.
	shift := places + 1 + sb - sa
	if shift >= 0 {
		a.Mul(a, pow10(shift))
	} else {
		b.Mul(b, pow10(-shift))
	}
	q := new(big.Int).Quo(a, b)
	return roundCoef(q, places+1, places), true
}

// Round returns d rounded half away from zero to places digits after the point
// (places may be negative: -2 rounds to hundreds).
func (d Decimal) Round(places int) Decimal {
	c, s := d.parts()
	if s <= places {
		return d
	}
	return roundCoef(c, s, places)
}

// Truncate returns d with the digits beyond places removed (toward zero).
func (d Decimal) Truncate(places int) Decimal {
	c, s := d.parts()
	if s <= places {
		return d
	}
	return fromParts(c.Quo(c, pow10(s-places)), places)
}

// roundCoef rounds coef·10^-scale to places, half away from zero.
func roundCoef(coef *big.Int, scale, places int) Decimal {
	if scale <= places {
		return fromParts(coef, scale)
	}
	div := pow10(scale - places)
	q, r := new(big.Int).QuoRem(coef, div, new(big.Int))
	r.Abs(r).Mul(r, big.NewInt(2))
	if r.Cmp(div) >= 0 {
		if coef.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return fromParts(q, places)
}

// StringFixed returns d rounded to places and written with exactly that many digits
// after the point ("12.50"), for display.
func (d Decimal) StringFixed(places int) string {
	r := d.Round(places).String()
	if places <= 0 {
		return r
	}
	intPart, frac, _ := strings.Cut(r, ".")
	return intPart + "." + frac + strings.Repeat("0", places-len(frac))
}

// Float64 returns the nearest float64, for boundaries that still speak float64. It
// is lossy; never feed the result back into an amount.
func (d Decimal) Float64() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// MarshalJSON writes d as a JSON number with its exact digits.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalJSON reads a JSON number or a JSON string holding a decimal. null leaves d
// unchanged, as encoding/json does for other types.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := ParseDecimal(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText writes the canonical decimal text (for use as a map key or in forms).
func (d Decimal) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a decimal.
func (d *Decimal) UnmarshalText(b []byte) error {
	v, err := ParseDecimal(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
