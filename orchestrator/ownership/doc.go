// Package ownership divides the nodes among BOS reconciler replicas sharing one Redis.
//
// The node ids are hashed into a fixed number of shards (Shard). Each shard is a lease
// in the store (store.AcquireLease: SET NX PX), held by one replica and renewed every
// third of its TTL. Replicas announce themselves with heartbeats; the pure rule Plan
// says which free shards a replica takes and which it gives up so that each live
// replica holds its fair share. A replica that dies stops renewing: its leases expire
// after at most one TTL and the others take them at their next pass.
//
// A replica acts on a node only while it holds the node's shard and its lease is valid
// by its own clock (Owner.Owns, Owner.Until: the time of the renewal's request plus
// the TTL less a margin, never later than Redis expires the key). Its writes are fenced
// (store.FencedBy): the lease is checked in the same transaction as the record, so a
// replica whose lease ran out writes, and therefore powers, nothing. The holder of shard
// 0 is the leader: it alone sets sessions up, completes them and runs housekeeping.
package ownership
