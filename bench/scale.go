package bench

import (
	"context"
	"errors"
	"flag"
)

func scaleFlags(fs *flag.FlagSet) func(context.Context, *harness) (any, error) {
	return func(ctx context.Context, h *harness) (any, error) { return nil, errors.New("not yet") }
}
