package main

// cliV1Families is the `bos v1` command tree.
func cliV1Families() []family {
	return nil
}
