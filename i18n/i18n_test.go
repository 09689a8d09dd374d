package i18n

import (
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verbRE finds the fmt verbs of a message.
var verbRE = regexp.MustCompile(`%(\[\d+\])?[a-z%]`)

func verbs(msg string) []string {
	v := verbRE.FindAllString(msg, -1)
	sort.Strings(v)
	return v
}

// sameAsEnglish are the messages that may read the same in a language as
// in English: Go time layouts, separators, and names that are not words.
var sameAsEnglish = map[string]bool{
	"layout.datetime": true, "layout.date": true, "time.zone": true, "unit.join": true, "list.sep": true,
	"punct.colon": true, "pdf.pageAfter": true, "pdf.pageOf": true, "unit.latency": true,
	"vi/col.site": true, // "site" is the word Vietnamese DR teams use (site chính, site dự phòng)
}

func TestCatalogs_EveryMessageTranslated(t *testing.T) {
	en := Messages(English)
	require.NotEmpty(t, en)
	for _, tag := range Supported[1:] {
		msgs := Messages(tag)
		for _, key := range Keys() {
			msg, ok := msgs[key]
			if !assert.True(t, ok, "%s lacks %q", CatalogFile(tag), key) {
				continue
			}
			assert.Equal(t, verbs(en[key]), verbs(msg), "%s: %q takes other arguments than English", CatalogFile(tag), key)
			if !sameAsEnglish[key] && !sameAsEnglish[tag.String()+"/"+key] && en[key] != "" {
				assert.NotEqual(t, en[key], msg, "%s: %q is still English", CatalogFile(tag), key)
			}
		}
		for key := range msgs {
			assert.Contains(t, en, key, "%s has %q, which English does not", CatalogFile(tag), key)
		}
	}
}

func TestParse_MatchesWhatPeopleType(t *testing.T) {
	for in, want := range map[string]string{
		"": "en", "en-GB": "en", "zh": "zh-Hans", "zh-CN": "zh-Hans", "zh-Hans": "zh-Hans",
		"zh-HK": "zh-Hant-HK", "zh-TW": "zh-Hant-HK", "zh-Hant": "zh-Hant-HK", "vi-VN": "vi", "ar-SA": "ar", "ar": "ar",
	} {
		l, err := Parse(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, l.String(), in)
	}
	_, err := Parse("fr")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "en, zh-Hans, zh-Hant-HK, vi, ar")
	assert.Equal(t, "en", Match("klingon!").String())
	assert.True(t, Match("ar").RTL())
	assert.Equal(t, "rtl", Match("ar").Dir())
	assert.Equal(t, "ltr", Match("vi").Dir())
}

func TestT_TranslatesAndReordersArguments(t *testing.T) {
	assert.Equal(t, "Records lost: 10", Match("en").T("integrity.lost", "10"))
	assert.Equal(t, "丢失的记录：10", Match("zh-Hans").T("integrity.lost", "10"))
	assert.Equal(t, "列出 30 个编号中的前 20 个", Match("zh-Hans").T("integrity.idsFirst", "20", "30"))
	assert.Equal(t, "", Match("en").T("pdf.pageAfter"), "an empty message stays empty")
	assert.Equal(t, "no.such.key", Match("vi").T("no.such.key"))
}

func TestFormat_NumbersDurationsAndInstantsPerLanguage(t *testing.T) {
	hk, err := time.LoadLocation("Asia/Hong_Kong")
	require.NoError(t, err)
	at := time.Date(2026, 11, 23, 9, 5, 0, 123e6, time.UTC)
	d := 812400 * time.Millisecond
	for _, tc := range []struct {
		lang, n, f, dur, ms, when, zone string
	}{
		{"en", "12,345", "32.4", "13m32.4s", "250ms", "2026-11-23 17:05:00.123 HKT", "Asia/Hong_Kong (UTC+08:00)"},
		{"zh-Hans", "12,345", "32.4", "13分32.4秒", "250毫秒", "2026年11月23日 17:05:00.123 HKT", "Asia/Hong_Kong（UTC+08:00）"},
		{"zh-HK", "12,345", "32.4", "13分32.4秒", "250毫秒", "2026年11月23日 17:05:00.123 HKT", "Asia/Hong_Kong（UTC+08:00）"},
		{"vi", "12.345", "32,4", "13 phút 32,4 giây", "250 mili giây", "23/11/2026 17:05:00.123 HKT", "Asia/Hong_Kong (UTC+08:00)"},
		{"ar", "12,345", "32.4", "13 د 32.4 ث", "250 ملّي ث", "23/11/2026 17:05:00.123 HKT", "Asia/Hong_Kong (UTC+08:00)"},
	} {
		l := Match(tc.lang)
		assert.Equal(t, tc.n, l.Int(12345), tc.lang)
		assert.Equal(t, tc.f, l.Decimal(32.4, 1), tc.lang)
		assert.Equal(t, tc.dur, l.Duration(d), tc.lang)
		assert.Equal(t, tc.ms, l.Duration(250*time.Millisecond), tc.lang)
		assert.Equal(t, tc.when, l.DateTime(at, hk), tc.lang)
		assert.Equal(t, tc.zone, l.Zone(hk, at), tc.lang)
	}
	assert.Equal(t, "4 giờ", Match("vi").Duration(4*time.Hour))
	assert.Equal(t, "-1h0m0s", Match("en").Duration(-time.Hour))
	assert.Equal(t, "١٢٬٣٤٥", Match("ar-u-nu-arab").Int(12345), "a nu extension picks the digits")
}

func TestIsolates_OnlyInRightToLeftLanguages(t *testing.T) {
	ar, en := Match("ar"), Match("en")
	assert.Equal(t, "\u2066drill-1\u2069", ar.LTR("drill-1"))
	assert.Equal(t, "\u2068Alice\u2069", ar.Iso("Alice"))
	assert.Equal(t, "drill-1", en.LTR("drill-1"))
	assert.Equal(t, "Alice", en.Iso("Alice"))
	assert.Equal(t, "drill-1", StripIsolates(ar.LTR("drill-1")))
}
