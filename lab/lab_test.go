package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func startLab(t *testing.T, cfg Config) *Lab {
	t.Helper()
	cfg.PrimaryAddr, cfg.StandbyAddr = "127.0.0.1:0", "127.0.0.1:0"
	l, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { l.Stop() })
	return l
}

func call(t *testing.T, method, url string, body any, out any) int {
	t.Helper()
	var buf bytes.Buffer
	if body != nil {
		require.NoError(t, json.NewEncoder(&buf).Encode(body))
	}
	req, err := http.NewRequest(method, url, &buf)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

type newest struct {
	Count    int        `json:"count"`
	NewestAt *time.Time `json:"newestAt"`
	NewestID string     `json:"newestId"`
}

func TestLab_WritesReplicateInOrderAfterTheLag(t *testing.T) {
	l := startLab(t, Config{Lag: 50 * time.Millisecond, TrafficInterval: -1})
	for i := 0; i < 3; i++ {
		require.Equal(t, http.StatusCreated, call(t, "POST", l.PrimaryURL()+"/api/messages",
			map[string]string{"chat": "general", "author": "alice", "text": "hi"}, nil))
	}
	assert.Equal(t, http.StatusServiceUnavailable, call(t, "POST", l.StandbyURL()+"/api/messages",
		map[string]string{"chat": "general", "author": "bob", "text": "no"}, nil), "the standby takes no writes")
	var p newest
	call(t, "GET", l.PrimaryURL()+"/replication/messages/newest", nil, &p)
	require.Eventually(t, func() bool {
		var s newest
		call(t, "GET", l.StandbyURL()+"/replication/messages/newest", nil, &s)
		return s.Count == p.Count && s.NewestID == p.NewestID
	}, 5*time.Second, 10*time.Millisecond)
	var ps, ss struct{ IDs []string }
	call(t, "GET", l.PrimaryURL()+"/replication/messages", nil, &ps)
	call(t, "GET", l.StandbyURL()+"/replication/messages", nil, &ss)
	assert.Equal(t, ps.IDs, ss.IDs, "same messages, same order")
}

func TestLab_FailoverLosesWhatHadNotReplicated(t *testing.T) {
	l := startLab(t, Config{Lag: 50 * time.Millisecond, PromoteDelay: 200 * time.Millisecond, TrafficInterval: 10 * time.Millisecond})
	time.Sleep(300 * time.Millisecond) // traffic flows and replicates
	require.Equal(t, http.StatusOK, call(t, "POST", l.PrimaryURL()+"/lab/faults/freeze-replication", nil, nil))
	time.Sleep(100 * time.Millisecond) // writes pile up, unreplicated
	require.Equal(t, http.StatusAccepted, call(t, "POST", l.PrimaryURL()+"/lab/failover", nil, nil))
	truth := l.Truth()
	require.NotNil(t, truth.OutageStartedAt)
	assert.Greater(t, truth.LostMessages, 3, "the frozen writes are lost")
	assert.Equal(t, http.StatusServiceUnavailable, call(t, "GET", l.StandbyURL()+"/health", nil, nil), "not promoted yet")
	assert.Equal(t, http.StatusServiceUnavailable, call(t, "POST", l.PrimaryURL()+"/api/messages",
		map[string]string{"chat": "general", "author": "alice", "text": "fenced"}, nil))

	require.Eventually(t, func() bool {
		return call(t, "GET", l.StandbyURL()+"/health", nil, nil) == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond)
	truth = l.Truth()
	require.NotNil(t, truth.RestoredAt)
	assert.GreaterOrEqual(t, truth.RestoredAt.Sub(*truth.OutageStartedAt), 200*time.Millisecond)
	require.NotNil(t, truth.LastReplicatedAt)
	assert.True(t, truth.LastReplicatedAt.Before(*truth.OutageStartedAt))

	var p, s newest
	before := "?before=" + truth.OutageStartedAt.Format(time.RFC3339Nano)
	call(t, "GET", l.PrimaryURL()+"/replication/messages/newest"+before, nil, &p)
	call(t, "GET", l.StandbyURL()+"/replication/messages/newest"+before, nil, &s)
	assert.Equal(t, truth.LostMessages, p.Count-s.Count, "exactly the lost messages are missing")
	assert.Equal(t, *truth.LastReplicatedAt, *s.NewestAt)

	require.Equal(t, http.StatusOK, call(t, "POST", l.PrimaryURL()+"/lab/failback", nil, nil))
	assert.Equal(t, http.StatusOK, call(t, "GET", l.PrimaryURL()+"/health", nil, nil))
}

func TestLab_BrokenPermissionSyncIsVisibleAsDrift(t *testing.T) {
	l := startLab(t, Config{Lag: 10 * time.Millisecond, TrafficInterval: -1})
	require.Equal(t, http.StatusOK, call(t, "POST", l.PrimaryURL()+"/lab/faults/break-permissions?group=finance", nil, nil))
	require.Equal(t, http.StatusCreated, call(t, "POST", l.PrimaryURL()+"/api/grants", Grant{"finance", "erin", "admin"}, nil))
	require.Equal(t, http.StatusCreated, call(t, "POST", l.PrimaryURL()+"/api/grants", Grant{"engineering", "carol", "read"}, nil))
	type perms struct{ Grants []Grant }
	require.Eventually(t, func() bool {
		var s perms
		call(t, "GET", l.StandbyURL()+"/replication/permissions", nil, &s)
		return contains(s.Grants, Grant{"engineering", "carol", "read"})
	}, 5*time.Second, 10*time.Millisecond, "other groups still replicate")
	var p, s perms
	call(t, "GET", l.PrimaryURL()+"/replication/permissions", nil, &p)
	call(t, "GET", l.StandbyURL()+"/replication/permissions", nil, &s)
	assert.True(t, contains(p.Grants, Grant{"finance", "erin", "admin"}))
	assert.False(t, contains(s.Grants, Grant{"finance", "erin", "admin"}), "the broken group's change never arrived")
}

func TestLab_CanariesReplicateAndTheNewestBeforeAnInstantIsFound(t *testing.T) {
	l := startLab(t, Config{Lag: 10 * time.Millisecond, TrafficInterval: -1})
	base := time.Now().UTC()
	for i := 0; i < 3; i++ {
		require.Equal(t, http.StatusCreated, call(t, "POST", l.PrimaryURL()+"/replication/canary",
			Canary{ID: string(rune('a' + i)), At: base.Add(time.Duration(i) * time.Second)}, nil))
	}
	require.Eventually(t, func() bool {
		var c Canary
		return call(t, "GET", l.StandbyURL()+"/replication/canary/newest", nil, &c) == http.StatusOK && c.ID == "c"
	}, 5*time.Second, 10*time.Millisecond)
	var c Canary
	call(t, "GET", l.StandbyURL()+"/replication/canary/newest?before="+base.Add(1500*time.Millisecond).Format(time.RFC3339Nano), nil, &c)
	assert.Equal(t, "b", c.ID)
	assert.Equal(t, http.StatusNotFound, call(t, "GET", l.StandbyURL()+"/replication/canary/newest?before="+base.Format(time.RFC3339Nano), nil, nil))
}

func contains(gs []Grant, g Grant) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}
