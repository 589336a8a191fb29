package lockstep

import (
	"context"
	"fmt"
	"log/slog"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store"
)

// Migration is what MigrateTemplates did.
type Migration struct {
	Converted []string // names of the templates converted (tenant templates as "tenant/name")
	Failed    []string // legacy templates that could not be converted, with the reason
}

// MigrateTemplates converts, at start-up, every stored template still in legacy v1 form
// to the current form (reference 3.5; orchestrator.MigrateV1Template decides): the
// v1-only fields are stripped, partition and ordinals kept, and the untouched original
// is kept as <name>_v1_deprecated unless a record of that name exists already. Each
// template is rewritten in one compare-and-set transaction, and converted templates and
// deprecated copies are left alone on the next run, so running it again, or after a
// crash half-way, changes nothing more. A template that cannot be converted is reported
// in Failed and left as it is; only store errors stop the migration.
func MigrateTemplates(ctx context.Context, st *store.Store, log *slog.Logger) (Migration, error) {
	var m Migration
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts, err := st.GetOptions(ctx)
	if err != nil {
		return m, fmt.Errorf("migrate templates: %w", err)
	}
	recs, err := st.ListTemplatesJSON(ctx)
	if err != nil {
		return m, fmt.Errorf("migrate templates: %w", err)
	}
	for _, rec := range recs {
		label := rec.Name
		if rec.Tenant != "" {
			label = rec.Tenant + "/" + rec.Name
		}
		var convErr error
		changed, err := st.RewriteTemplate(ctx, rec.Tenant, rec.Name, func(raw []byte) ([]byte, string, []byte, error) {
			conv, dep, err := bos.MigrateV1Template(rec.Name, raw, opts)
			if err != nil {
				convErr = err
				return nil, "", nil, nil
			}
			convErr = nil
			return conv, rec.Name + bos.V1DeprecatedSuffix, dep, nil
		})
		if err != nil {
			return m, fmt.Errorf("migrate templates: %s: %w", label, err)
		}
		switch {
		case convErr != nil:
			m.Failed = append(m.Failed, fmt.Sprintf("%s: %v", label, convErr))
			log.Error("template migration: a legacy v1 template cannot be converted; left as it is", "template", label, "err", convErr)
		case changed:
			m.Converted = append(m.Converted, label)
			log.Info("template migration: converted a v1 template; the original is kept", "template", label, "copy", rec.Name+bos.V1DeprecatedSuffix)
		}
	}
	return m, nil
}
