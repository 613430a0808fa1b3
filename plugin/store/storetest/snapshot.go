package storetest

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/store"
)

// Buckets are all the buckets kassa writes.
var Buckets = []string{store.BucketSessions, store.BucketTokens, store.BucketCards, store.BucketCallbacks, store.BucketInvoices}

// Snapshot reads every record of Buckets, keyed "<bucket> <key>", and
// every delivery's URL and body, keyed "delivery <id>" (a delivery's state
// and attempts move on their own while it is sent). Tests compare two
// snapshots to prove that a refused request changed nothing.
func Snapshot(t testing.TB, st store.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := st.View(ctx, func(tx store.Tx) error {
		for _, b := range Buckets {
			kvs, err := tx.List(b, "", "", 0)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				out[b+" "+kv.Key] = string(kv.Value)
			}
		}
		ds, err := tx.ListDeliveries("", "", 0)
		if err != nil {
			return err
		}
		for _, d := range ds {
			out["delivery "+d.ID] = d.URL + " " + string(d.Body)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("store snapshot: %v", err)
	}
	return out
}

// Diff describes how after differs from before, a sorted line per record
// added, changed or removed; "" if they are equal.
func Diff(before, after map[string]string) string {
	var lines []string
	for k, v := range after {
		if old, ok := before[k]; !ok {
			lines = append(lines, "added   "+k+" = "+trunc(v))
		} else if old != v {
			lines = append(lines, "changed "+k+": "+trunc(old)+" -> "+trunc(v))
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			lines = append(lines, "removed "+k)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func trunc(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
