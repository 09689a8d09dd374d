package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// The languages drillctl's reports speak.
var (
	English         = language.English
	Chinese         = language.MustParse("zh-Hans")    // Simplified Chinese (mainland)
	HongKongChinese = language.MustParse("zh-Hant-HK") // Traditional Chinese as written in Hong Kong
	Vietnamese      = language.Vietnamese
	Arabic          = language.Arabic
)

// Supported lists the languages with a catalog, English first (the fallback).
var Supported = []language.Tag{English, Chinese, HongKongChinese, Vietnamese, Arabic}

//go:embed locales/*.json
var localeFiles embed.FS

// catalogs holds every language's messages by key, as read from locales/.
var catalogs = map[language.Tag]map[string]string{}

// builder is the x/text catalog the printers read; English is the fallback
// for a key a catalog lacks (the tests make sure none does).
var builder = catalog.NewBuilder(catalog.Fallback(English))

func init() {
	for _, tag := range Supported {
		name := "locales/" + tag.String() + ".json"
		raw, err := localeFiles.ReadFile(name)
		if err != nil {
			panic(fmt.Sprintf("i18n: %s: %v", name, err)) // a catalog is missing from the build
		}
		msgs := map[string]string{}
		if err := json.Unmarshal(raw, &msgs); err != nil {
			panic(fmt.Sprintf("i18n: %s: %v", name, err))
		}
		catalogs[tag] = msgs
		for key, msg := range msgs {
			if err := builder.SetString(tag, key, msg); err != nil {
				panic(fmt.Sprintf("i18n: %s: %s: %v", name, key, err))
			}
		}
	}
}

var matcher = language.NewMatcher(Supported)

// Locale renders text in one supported language. The zero Locale is not
// usable; get one from Parse or Match.
type Locale struct {
	tag language.Tag
	p   *message.Printer // messages, by the catalog's tag
	num *message.Printer // numbers, with the digits asked for
}

// Parse returns the locale for a BCP 47 tag ("zh-HK", "ar", "vi-VN"), or an
// error naming the supported languages when the tag matches none of them.
// An empty tag is English. A Unicode "nu" extension picks the digits of
// numbers ("ar-u-nu-arab" for Arabic-Indic digits).
func Parse(tag string) (Locale, error) {
	if strings.TrimSpace(tag) == "" {
		return newLocale(English, English), nil
	}
	want, err := language.Parse(tag)
	if err != nil {
		return Locale{}, fmt.Errorf("language %q: %v (supported: %s)", tag, err, SupportedNames())
	}
	got, conf := best(want)
	if conf == language.No {
		return Locale{}, fmt.Errorf("language %q: no catalog (supported: %s)", tag, SupportedNames())
	}
	return newLocale(got, want), nil
}

// Match returns the locale closest to tag, English when none is close.
func Match(tag string) Locale {
	l, err := Parse(tag)
	if err != nil {
		return newLocale(English, English)
	}
	return l
}

// best is the supported tag closest to want. Traditional Chinese of any
// region is Hong Kong's catalog, not the Simplified one the matcher would
// fall back to for zh-TW or zh-Hant.
func best(want language.Tag) (language.Tag, language.Confidence) {
	base, _ := want.Base()
	if script, _ := want.Script(); base.String() == "zh" && script.String() == "Hant" {
		return HongKongChinese, language.High
	}
	_, i, conf := matcher.Match(want)
	return Supported[i], conf
}

// newLocale builds the locale of a supported tag; numbers use Latin digits
// unless want asks for others with a "nu" extension. Arabic reports keep
// Latin digits by default so counts read like the ids, instants and hashes
// beside them (as CLDR does for ar-AE and ar-MA).
func newLocale(tag, want language.Tag) Locale {
	nu := "latn"
	if v := want.TypeForKey("nu"); v != "" {
		nu = v
	}
	printTag := tag
	if t, err := tag.SetTypeForKey("nu", nu); err == nil {
		printTag = t
	}
	return Locale{tag: tag, p: message.NewPrinter(tag, message.Catalog(builder)), num: message.NewPrinter(printTag)}
}

// SupportedNames lists the supported tags, comma separated.
func SupportedNames() string {
	names := make([]string, len(Supported))
	for i, t := range Supported {
		names[i] = t.String()
	}
	return strings.Join(names, ", ")
}

// Tag is the locale's language, one of Supported.
func (l Locale) Tag() language.Tag { return l.tag }

// String is the locale's BCP 47 tag, as an HTML lang attribute wants it.
func (l Locale) String() string { return l.tag.String() }

// RTL reports whether the language is written right to left.
func (l Locale) RTL() bool { return l.tag == Arabic }

// Dir is the HTML dir attribute of the language: "rtl" or "ltr".
func (l Locale) Dir() string {
	if l.RTL() {
		return "rtl"
	}
	return "ltr"
}

// T returns the message of key in the locale's language, its arguments
// (strings, already formatted) substituted. A key no catalog has is returned
// as it is, so a typo shows instead of vanishing.
func (l Locale) T(key string, args ...any) string {
	if _, ok := catalogs[English][key]; !ok {
		return key
	}
	return l.p.Sprintf(key, args...)
}

// Has reports whether key is a message of the catalogs.
func Has(key string) bool {
	_, ok := catalogs[English][key]
	return ok
}

// Keys lists every message key of the reference (English) catalog, sorted.
func Keys() []string {
	keys := make([]string, 0, len(catalogs[English]))
	for k := range catalogs[English] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Messages returns a copy of one language's catalog, by key.
func Messages(tag language.Tag) map[string]string {
	out := map[string]string{}
	for k, v := range catalogs[tag] {
		out[k] = v
	}
	return out
}

// CatalogFile is where a language's catalog lives in the source tree.
func CatalogFile(tag language.Tag) string {
	return path.Join("i18n", "locales", tag.String()+".json")
}
