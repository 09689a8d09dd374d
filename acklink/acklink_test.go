package acklink

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func TestSignVerify_RoundTripTamperAndExpiry(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tok := Token{DrillID: "drill-1", Step: "page", Contact: "bob", Level: 2, Expires: now.Add(10 * time.Minute)}
	s := Sign(key, tok)
	got, err := Verify(key, s, now)
	require.NoError(t, err)
	assert.Equal(t, "bob", got.Contact)
	assert.NotEmpty(t, got.Nonce)

	_, err = Verify([]byte("another key, another key, another"), s, now)
	assert.ErrorIs(t, err, ErrSignature)
	payload, sig, _ := strings.Cut(s, ".")
	forged := strings.Replace(payload, payload[:4], "eyJk", 1) + "x." + sig
	_, err = Verify(key, forged, now)
	assert.Error(t, err)
	_, err = Verify(key, s, now.Add(10*time.Minute))
	assert.ErrorIs(t, err, ErrExpired)
	_, err = Verify(key, "nonsense", now)
	assert.ErrorIs(t, err, ErrMalformed)
}

type recordingAcker struct {
	acks []Token
	err  error
}

func (r *recordingAcker) Ack(_ context.Context, t Token, via string) error {
	if r.err != nil {
		return r.err
	}
	r.acks = append(r.acks, t)
	return nil
}

func TestHandler_GetConfirmsPostAcksOnce(t *testing.T) {
	now := time.Now()
	acker := &recordingAcker{}
	srv := httptest.NewServer(Handler(key, acker, func() time.Time { return now }))
	defer srv.Close()
	link := URL(srv.URL, Sign(key, Token{DrillID: "drill-1", Step: "page", Contact: "bob", Level: 2, Expires: now.Add(time.Minute)}))

	resp, err := http.Get(link)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "Acknowledge as bob")
	assert.Empty(t, acker.acks, "a GET (a link preview) acknowledges nothing")

	resp, err = http.Post(link, "", nil)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "Acknowledged by bob for step page at level 2")
	require.Len(t, acker.acks, 1)

	resp, err = http.Post(link, "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Len(t, acker.acks, 1)
}

func TestHandler_ExpiredBadAndFailingAcks(t *testing.T) {
	now := time.Now()
	acker := &recordingAcker{err: errors.New(`"bob" was not paged by step "page"`)}
	srv := httptest.NewServer(Handler(key, acker, func() time.Time { return now }))
	defer srv.Close()
	for _, tc := range []struct {
		link string
		code int
	}{
		{URL(srv.URL, Sign(key, Token{Contact: "bob", Expires: now.Add(-time.Second)})), http.StatusGone},
		{URL(srv.URL, "garbage.token"), http.StatusBadRequest},
		{URL(srv.URL, Sign(key, Token{Contact: "bob", Step: "page", Expires: now.Add(time.Minute)})), http.StatusBadGateway},
	} {
		resp, err := http.Post(tc.link, "", nil)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, tc.code, resp.StatusCode, tc.link)
	}
}

func TestLoadOrCreateKey_KeepsTheKeyAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "ack.key")
	k1, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	k2, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	assert.Equal(t, k1, k2)
	assert.Len(t, k1, 32)
}
