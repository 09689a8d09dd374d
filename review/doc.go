// Package review is what happens after a drill: the post-drill review
// (findings, corrective actions, participants, sign-offs) and the register
// built from the drills and their reviews (`drillctl report`).
//
// A review is a sealed bundle of its own, kept beside the drill's bundle in
// the evidence store, never inside it:
//
//	<store>/<drill-id>/                the drill's bundle, never modified
//	<store>/<drill-id>.review/v1/      review.json, review.md, signoffs/, manifest.json, manifest.sig
//	<store>/<drill-id>.review/v2/      an amendment, naming v1's manifest digest
//
// review.json names the drill bundle by its manifest digest. Every change
// (a finding accepted, an action closed, a sign-off) is a new version that
// names its predecessor's manifest digest; a version is never rewritten.
// Sign-offs are identity statements (decision "signoff") signed with the
// reviewer's SSH key over the review's content digest, so `ssh-keygen -Y
// verify` checks each one with the files the bundle holds.
//
// The package registers the review kind with evidence.RegisterBundleKind,
// so `drillctl evidence verify` checks a review's sign-offs and links too.
// It does no Temporal work: reviews are files in the evidence store.
package review
