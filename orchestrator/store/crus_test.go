package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

func TestCRUSSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		st := storetest.Open(t, backend, store.Config{})
		ctx := context.Background()

		list, err := st.ListCRUSSessions(ctx)
		require.NoError(t, err)
		assert.Empty(t, list)

		require.NoError(t, st.CreateCRUSSession(ctx, "a", []byte(`{"n":1}`)))
		require.NoError(t, st.CreateCRUSSession(ctx, "b", []byte(`{"n":2}`)))
		err = st.CreateCRUSSession(ctx, "a", []byte(`{"n":9}`))
		assert.Equal(t, orchestrator.ECONFLICT, orchestrator.ErrorCode(err))

		raw, err := st.GetCRUSSession(ctx, "a")
		require.NoError(t, err)
		assert.JSONEq(t, `{"n":1}`, string(raw), "a conflicting create leaves the record alone")
		_, err = st.GetCRUSSession(ctx, "zz")
		assert.True(t, orchestrator.IsNotFound(err))

		out, err := st.UpdateCRUSSession(ctx, "a", func(b []byte) ([]byte, error) { return []byte(`{"n":3}`), nil })
		require.NoError(t, err)
		assert.JSONEq(t, `{"n":3}`, string(out))
		out, err = st.UpdateCRUSSession(ctx, "a", func(b []byte) ([]byte, error) { return nil, nil })
		require.NoError(t, err)
		assert.JSONEq(t, `{"n":3}`, string(out), "a nil result writes nothing and returns the stored record")
		stop := errors.New("stop")
		_, err = st.UpdateCRUSSession(ctx, "a", func(b []byte) ([]byte, error) { return nil, stop })
		assert.ErrorIs(t, err, stop)
		_, err = st.UpdateCRUSSession(ctx, "zz", func(b []byte) ([]byte, error) { return b, nil })
		assert.True(t, orchestrator.IsNotFound(err))

		list, err = st.ListCRUSSessions(ctx)
		require.NoError(t, err)
		assert.Equal(t, map[string][]byte{"a": []byte(`{"n":3}`), "b": []byte(`{"n":2}`)}, list)

		require.NoError(t, st.DeleteCRUSSession(ctx, "a"))
		assert.True(t, orchestrator.IsNotFound(st.DeleteCRUSSession(ctx, "a")))
		list, err = st.ListCRUSSessions(ctx)
		require.NoError(t, err)
		assert.Len(t, list, 1)
	})
}

// Concurrent read-modify-write cycles on one record lose no update.
func TestCRUSSessionCompareAndSet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, backend string) {
		st := storetest.Open(t, backend, store.Config{})
		ctx := context.Background()
		require.NoError(t, st.CreateCRUSSession(ctx, "c", []byte("0")))
		const writers, each = 8, 20
		var wg sync.WaitGroup
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					_, err := st.UpdateCRUSSession(ctx, "c", func(b []byte) ([]byte, error) {
						n, err := strconv.Atoi(string(b))
						if err != nil {
							return nil, err
						}
						return []byte(fmt.Sprint(n + 1)), nil
					})
					assert.NoError(t, err)
				}
			}()
		}
		wg.Wait()
		raw, err := st.GetCRUSSession(ctx, "c")
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(writers*each), string(raw))
	})
}
