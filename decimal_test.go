package linkvault

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"0", "0"},
		{"-0", "0"},
		{"0.00000000", "0"},
		{"00012.3400", "12.34"},
		{"1", "1"},
		{"100", "100"},
		{"-1.50", "-1.5"},
		{"+2.5", "2.5"},
		{".5", "0.5"},
		{"5.", "5"},
		{"0.00000220", "0.0000022"}, // Binance withdrawFee (all-coins page example)
		{"9999999999.99999999", "9999999999.99999999"}, // Binance withdrawMax
		{"1e-8", "0.00000001"},
		{"1.5E3", "1500"},
		{"12e0", "12"},
		{"  7.25 ", "7.25"},
		{"123456789012345678901234567890.123456789012345678", "123456789012345678901234567890.123456789012345678"},
		{"1." + strings.Repeat("0", 60), "1"}, // trailing zeros do not count against the bounds
	}
	for _, tt := range tests {
		d, err := ParseDecimal(tt.in)
		if err != nil {
			t.Errorf("ParseDecimal(%q): %v", tt.in, err)
			continue
		}
		if got := d.String(); got != tt.want {
			t.Errorf("ParseDecimal(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseDecimalRefuses(t *testing.T) {
	for _, in := range []string{
		"", " ", "-", "+", ".", "-.", "e5", "1e", "1e+", "1..2", "1.2.3", "0x10", "1_000", "NaN", "Inf", "-Infinity",
		"1,5", "١", "1e-37", "1e1001", strings.Repeat("9", 81), "0." + strings.Repeat("1", 37), "12 3",
	} {
		if d, err := ParseDecimal(in); err == nil {
			t.Errorf("ParseDecimal(%q) = %s, want an error", in, d)
		}
	}
}

func TestDecimalArithmetic(t *testing.T) {
	d := MustDecimal
	tests := []struct {
		name string
		got  Decimal
		want string
	}{
		{"add", d("0.1").Add(d("0.2")), "0.3"}, // 0.30000000000000004 in float64
		{"add negative", d("1.5").Add(d("-2.25")), "-0.75"},
		{"add zero value", Decimal{}.Add(d("3")), "3"},
		{"sub", d("1.5").Sub(d("0.0001")), "1.4999"},
		{"sub to zero", d("2.50").Sub(d("2.5")), "0"},
		{"mul", d("1.5").Mul(d("60000")), "90000"},
		{"mul fractions", d("0.00000001").Mul(d("0.5")), "0.000000005"},
		{"neg", d("2").Neg(), "-2"},
		{"neg zero", Decimal{}.Neg(), "0"},
		{"abs", d("-0.5").Abs(), "0.5"},
		{"round half up", d("2.345").Round(2), "2.35"},
		{"round half away negative", d("-2.345").Round(2), "-2.35"},
		{"round down", d("2.344").Round(2), "2.34"},
		{"round carries", d("9.999").Round(2), "10"},
		{"round no-op", d("1.5").Round(8), "1.5"},
		{"round to hundreds", d("1250").Round(-2), "1300"},
		{"truncate", d("1.99999").Truncate(2), "1.99"},
		{"truncate negative", d("-1.99999").Truncate(2), "-1.99"},
		{"from int", DecimalFromInt(-42), "-42"},
	}
	for _, tt := range tests {
		if tt.got.String() != tt.want {
			t.Errorf("%s = %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}

func TestDecimalQuo(t *testing.T) {
	tests := []struct {
		a, b   string
		places int
		want   string
	}{
		{"90000", "1.5", 2, "60000"},
		{"1", "3", 8, "0.33333333"},
		{"2", "3", 2, "0.67"},
		{"-2", "3", 2, "-0.67"},
		{"1", "8", 2, "0.13"}, // 0.125 rounds half away from zero
		{"0.0000001", "1000", 8, "0"},
		{"123.456", "0.001", 0, "123456"},
	}
	for _, tt := range tests {
		got, ok := MustDecimal(tt.a).Quo(MustDecimal(tt.b), tt.places)
		if !ok || got.String() != tt.want {
			t.Errorf("%s / %s (%d places) = %s, %v; want %s", tt.a, tt.b, tt.places, got, ok, tt.want)
		}
	}
	if _, ok := MustDecimal("1").Quo(Decimal{}, 2); ok {
		t.Error("division by zero reported ok")
	}
}

func TestDecimalCompare(t *testing.T) {
	d := MustDecimal
	if d("1.50") != d("1.5") {
		t.Error("== does not compare numbers")
	}
	if d("0.1").Cmp(d("0.10000001")) != -1 || d("2").Cmp(d("-3")) != 1 || d("7").Cmp(d("7.0")) != 0 {
		t.Error("Cmp is wrong")
	}
	if !d("-1").LessThan(Decimal{}) || (Decimal{}).Sign() != 0 || d("-0.1").Sign() != -1 || d("3").Sign() != 1 {
		t.Error("LessThan or Sign is wrong")
	}
	if d("1.2300").Scale() != 2 || d("5").Scale() != 0 {
		t.Error("Scale is wrong")
	}
	if got := d("2.5").StringFixed(2); got != "2.50" {
		t.Errorf("StringFixed = %s", got)
	}
	if got := d("1234.5678").StringFixed(0); got != "1235" {
		t.Errorf("StringFixed(0) = %s", got)
	}
}

func TestDecimalJSON(t *testing.T) {
	var v struct {
		A Decimal  `json:"a"`
		B Decimal  `json:"b"`
		C *Decimal `json:"c"`
		D Decimal  `json:"d"`
	}
	if err := json.Unmarshal([]byte(`{"a": 0.1, "b": "12.50", "c": null, "d": 1e-8}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A.String() != "0.1" || v.B.String() != "12.5" || v.C != nil || v.D.String() != "0.00000001" {
		t.Fatalf("decoded %+v", v)
	}
	out, err := json.Marshal(map[string]Decimal{"amount": MustDecimal("9999999999.99999999"), "zero": {}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"amount":9999999999.99999999,"zero":0}` {
		t.Fatalf("marshal = %s", out)
	}
	var bad Decimal
	for _, in := range []string{`"abc"`, `true`, `{}`, `"NaN"`} {
		if err := json.Unmarshal([]byte(in), &bad); err == nil {
			t.Errorf("unmarshal %s accepted", in)
		}
	}
}

func TestDecimalFromFloat(t *testing.T) {
	for f, want := range map[float64]string{0.1: "0.1", 1.5: "1.5", 1e-8: "0.00000001", 60000: "60000", -2.25: "-2.25"} {
		got, ok := DecimalFromFloat(f)
		if !ok || got.String() != want {
			t.Errorf("DecimalFromFloat(%v) = %s, %v; want %s", f, got, ok, want)
		}
	}
	var zero float64
	if _, ok := DecimalFromFloat(zero / zero); ok {
		t.Error("NaN accepted")
	}
	if got := MustDecimal("0.3").Float64(); got != 0.3 {
		t.Errorf("Float64 = %v", got)
	}
}

// FuzzParseDecimal: whatever parses must print canonically, re-parse to itself, and
// agree with math/big on its value.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "1.5", "-0.00000001", "1e-8", "9999999999.99999999", "00.10", "+7", ".5", "1E3", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDecimal(s)
		if err != nil {
			return
		}
		c := d.String()
		again, err := ParseDecimal(c)
		if err != nil || again != d || again.String() != c {
			t.Fatalf("%q -> %q does not round-trip (%v)", s, c, err)
		}
		if strings.ContainsAny(c, "eE+") || (strings.Contains(c, ".") && strings.HasSuffix(c, "0")) {
			t.Fatalf("%q -> %q is not canonical", s, c)
		}
		want, ok := new(big.Rat).SetString(strings.TrimSpace(s))
		got, _ := new(big.Rat).SetString(c)
		if ok && want.Cmp(got) != 0 {
			t.Fatalf("%q parsed as %s, math/big says %s", s, c, want.FloatString(40))
		}
		if d.Add(d).Sub(d) != d || d.Mul(DecimalFromInt(1)) != d {
			t.Fatalf("arithmetic identities fail for %s", c)
		}
	})
}
