// Package i18n holds the message catalogs of drillctl's rendered reports and
// CLI scorecard, and the few locale-aware formatters they need (numbers,
// durations, instants with their zone, bidirectional isolation).
//
// It is built on golang.org/x/text (language matching, message catalogs,
// number formatting) rather than github.com/nicksnyder/go-i18n/v2: x/text is
// already in the module graph (Temporal's SDK needs it), so the reports gain
// five languages without a new module; its matcher maps what people type
// (zh-HK, zh-TW, zh-CN, ar-SA, vi-VN) to the five catalogs; its number
// formatter knows each language's separators (vi writes 1.234,5). go-i18n
// would bring CLDR plural rules, but the reports avoid plural-sensitive
// wording ("Records lost: 3"), which reads naturally in all five languages.
//
// Catalogs live in locales/<tag>.json, one flat JSON object per language
// mapping a message key to a fmt-style format whose arguments are always
// strings (%s, or %[2]s to reorder). English is the reference:
// TestCatalogs_EveryMessageTranslated fails when another catalog lacks a key,
// has one English does not, or uses other arguments.
//
// Only rendered text changes language: the drill record (drill.json) stays
// English, the machine record. The package does no I/O beyond reading its
// embedded catalogs.
package i18n
