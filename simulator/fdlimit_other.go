//go:build !unix

package simulator

func raiseFDLimit(int) error { return nil }
