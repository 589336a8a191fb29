package store

import "context"

type quietKey struct{}

// Quietly returns a context whose component writes do not call OnComponentsChanged (they
// still call OnComponentsWritten). The
// reconciler writes its own decisions this way: it schedules its next look at those nodes
// itself, and waking them again would only repeat the work.
func Quietly(ctx context.Context) context.Context { return context.WithValue(ctx, quietKey{}, true) }

func isQuiet(ctx context.Context) bool { q, _ := ctx.Value(quietKey{}).(bool); return q }
