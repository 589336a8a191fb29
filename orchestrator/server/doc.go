// Package server composes BOS: the store, the v2 and v1 API, the v2 reconciler, the v1
// lockstep agent, CRUS and the power driver they share, wired to the services BOS drives
// (HSM, BSS, CFS, IMS and S3, PCS or the BMCs' Redfish, Slurm) by URL. `bos serve` and
// `bos up` (through internal/stack) both run BOS through it, so they run the same wiring:
//
//	b, err := server.New(ctx, cfg)  // opens the store, migrates v1 templates, builds it all
//	defer b.Close()                 // after Run has returned: the store, the BMC clients
//	srv := &http.Server{Handler: b.Handler()}
//	go srv.Serve(ln)
//	err = b.Run(runCtx)             // reconciler, v1 agent, CRUS until runCtx ends
//
// Stopping: shut the HTTP server down first (requests in flight may need the store), then
// cancel Run's context; Run returns once every goroutine it started has ended and BOS's
// event subscriptions are deleted from the BMCs; then Close.
//
// This package knows the services only by URL and through the product's clients: it
// imports no simulator.
package server
