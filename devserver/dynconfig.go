package devserver

import (
	"go.temporal.io/server/common/dynamicconfig"
)

// LowLatencyDynamicConfig is the dynamic config, on top of the server's
// defaults, that makes one drill step follow the previous one quickly. A
// drill is a handful of workflows, each waiting on its next step, so what
// counts is the time from one activity's end to the next one's start, not
// throughput. BenchmarkSequentialActivity measures each entry (see
// `make bench`); Config.DynamicConfig overrides any of them.
var LowLatencyDynamicConfig = map[string]any{
	// The history service reads the tasks it must hand on (a workflow task
	// to matching, after an activity completes) through a queue whose polls
	// are rate limited per shard, 20/s by default. The embedded server has
	// one shard, so once the burst is spent every drill step waits ~50 ms
	// for its turn. Polls still happen only when tasks are written.
	"history.transferProcessorMaxPollRPS": 1000,
	// The same limit on the queue that fires timers (workflow.Sleep, step
	// timeouts, retries) and on the one that feeds `drill list`.
	"history.timerProcessorMaxPollRPS":      1000,
	"history.visibilityProcessorMaxPollRPS": 1000,
	// One partition per task queue (the server's default is four). With
	// several, a task can land on a partition whose poller is elsewhere and
	// wait to be forwarded to the root; one worker process gains nothing
	// from partitions.
	"matching.numTaskqueueReadPartitions":  1,
	"matching.numTaskqueueWritePartitions": 1,
	// Hand an activity to the worker in the reply to the workflow task that
	// scheduled it, skipping matching (on by default in server 1.32; pinned
	// here because the whole latency budget depends on it).
	"system.enableActivityEagerExecution": true,
	// Return the first workflow task in the reply to StartWorkflowExecution
	// when the client asks for it (StartWorkflowOptions.EnableEagerStart).
	"system.enableEagerWorkflowStart": true,
}

// featureDynamicConfig turns on what drillctl relies on, whatever the
// server's defaults of the day: Update for approvals, Schedules for
// quarterly drills, list queries for `drill list`, and the dev-server habits
// of the Temporal CLI. Config.DynamicConfig overrides any of them.
var featureDynamicConfig = map[string]any{
	// Approvals are Updates; `drill approve` may wait only for acceptance.
	"frontend.enableUpdateWorkflowExecution":              true,
	"frontend.enableUpdateWorkflowExecutionAsyncAccepted": true,
	// `drillctl schedule …`: the RPCs and the worker that runs schedules.
	"frontend.enableSchedules": true,
	"worker.enableScheduler":   true,
	// `drill list` and `drill watch` poll visibility; the default (10/s per
	// namespace) throttles a coordinator with a few terminals open.
	"frontend.namespaceRPS.visibility": 100,
	// Search attributes registered a moment ago are usable at once; with
	// that cache off, persistence sees more reads, so raise its limits as
	// the Temporal CLI's dev server does.
	"system.forceSearchAttributesCacheRefreshOnRead": true,
	"frontend.persistenceMaxQPS":                     10000,
	"history.persistenceMaxQPS":                      45000,
	// One machine runs a few drills: cache fewer executions than a cluster
	// host would (128000) to keep the process small.
	"history.hostLevelCacheMaxSize": 8192,
}

// dynamicConfig merges the server's dynamic config: the feature settings,
// then (unless disabled) the low-latency ones, then the caller's.
func dynamicConfig(lowLatency bool, overrides map[string]any) dynamicconfig.StaticClient {
	dyn := dynamicconfig.StaticClient{}
	layers := []map[string]any{featureDynamicConfig}
	if lowLatency {
		layers = append(layers, LowLatencyDynamicConfig)
	}
	layers = append(layers, overrides)
	for _, layer := range layers {
		for k, v := range layer {
			dyn[dynamicconfig.MakeKey(k)] = v
		}
	}
	return dyn
}
