package ims

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/cray-bos/bos/internal/uuid"
	"maps"
	"net/http"
	"sort"
	"strings"

	"github.com/cray-bos/bos/api/imsapi"
	"github.com/cray-bos/bos/internal/problem"
)

// cloneImage copies img deeply enough that the copy shares nothing mutable with it.
func cloneImage(img *imsapi.Image) imsapi.Image {
	c := *img
	if img.Link != nil {
		l := *img.Link
		c.Link = &l
	}
	c.Metadata = maps.Clone(img.Metadata)
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	return c
}

func cloneDeleted(d *imsapi.DeletedImage) imsapi.DeletedImage {
	return imsapi.DeletedImage{Image: cloneImage(&d.Image), Deleted: d.Deleted}
}

// deletedPrefix is where soft-deleted objects go, inside their own bucket.
const deletedPrefix = "deleted/"

// maxJSONBody bounds IMS request bodies; records are tiny.
const maxJSONBody = 1 << 20

// Problem details as IMS words them.
const (
	detailNotFound = "Requested resource does not exist. Re-run request with valid ID."
	detailNoInput  = "No input provided. Determine the specific information that is missing or invalid and then re-run the request with valid information."
	detailConflict = "Requested resource exists, but cannot be patched due to a patch conflict. Re-run request with valid input values."
)

// imsRoutes is IMS's route table (the image part of /v3), served under both the
// in-cluster base /v3 and the gateway base /apis/ims/v3.
func (s *Server) imsRoutes(mux *http.ServeMux) {
	for _, base := range []string{"/v3", "/apis/ims/v3"} {
		mux.HandleFunc("GET "+base+"/images", s.listImages)
		mux.HandleFunc("POST "+base+"/images", s.createImage)
		mux.HandleFunc("DELETE "+base+"/images", s.deleteAllImages)
		mux.HandleFunc("GET "+base+"/images/{id}", s.getImage)
		mux.HandleFunc("PATCH "+base+"/images/{id}", s.patchImage)
		mux.HandleFunc("DELETE "+base+"/images/{id}", s.deleteImage)
		mux.HandleFunc("GET "+base+"/deleted/images", s.listDeleted)
		mux.HandleFunc("PATCH "+base+"/deleted/images", s.undeleteAll)
		mux.HandleFunc("DELETE "+base+"/deleted/images", s.purgeAll)
		mux.HandleFunc("GET "+base+"/deleted/images/{id}", s.getDeleted)
		mux.HandleFunc("PATCH "+base+"/deleted/images/{id}", s.undeleteImage)
		mux.HandleFunc("DELETE "+base+"/deleted/images/{id}", s.purgeImage)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func unprocessable(format string, args ...any) *problem.Details {
	return problem.New(http.StatusUnprocessableEntity, format, args...)
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Images())
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request) {
	img, ok := s.Image(r.PathValue("id"))
	if !ok {
		problem.Write(w, http.StatusNotFound, detailNotFound)
		return
	}
	writeJSON(w, http.StatusOK, img)
}

// createBody is POST /v3/images. Link is kept raw to tell "absent" (generate artifacts:
// our convenience) from null (a record without artifacts, as IMS allows).
// KernelParameters is our extension: the boot parameters of generated artifacts.
type createBody struct {
	Name             *string           `json:"name"`
	Link             json.RawMessage   `json:"link"`
	Arch             *string           `json:"arch"`
	Metadata         map[string]string `json:"metadata"`
	KernelParameters *string           `json:"kernel_parameters"`
}

func (s *Server) createImage(w http.ResponseWriter, r *http.Request) {
	var body createBody
	if p := problem.DecodeJSON(w, r, &body, maxJSONBody); p != nil {
		problem.WriteDetails(w, p)
		return
	}
	if body.Name == nil && body.Link == nil && body.Arch == nil && body.Metadata == nil && body.KernelParameters == nil {
		problem.Write(w, http.StatusBadRequest, detailNoInput)
		return
	}
	img := imsapi.Image{Arch: imsapi.ArchX86_64, Metadata: map[string]string{}}
	if body.Name == nil || strings.TrimSpace(*body.Name) == "" {
		problem.WriteDetails(w, unprocessable("name: field is required and must not be blank"))
		return
	}
	img.Name = *body.Name
	if body.Arch != nil {
		if !validArch(*body.Arch) {
			problem.WriteDetails(w, unprocessable("arch: must be one of x86_64, aarch64, not %q", *body.Arch))
			return
		}
		img.Arch = *body.Arch
	}
	for k, v := range body.Metadata {
		if k == "" {
			problem.WriteDetails(w, unprocessable("metadata: keys must not be blank"))
			return
		}
		img.Metadata[k] = v
	}
	generate := body.Link == nil
	if !generate {
		if body.KernelParameters != nil {
			problem.WriteDetails(w, unprocessable("kernel_parameters: only allowed when no link is given (the artifacts are then generated)"))
			return
		}
		if !isNull(body.Link) {
			l, p := s.checkLink(body.Link)
			if p != nil {
				problem.WriteDetails(w, p)
				return
			}
			img.Link = &l
		}
	}
	now := s.now()
	img.ID = uuid.New()
	img.Created = formatCreated(now)
	s.mu.Lock()
	if generate {
		kp := ""
		if body.KernelParameters != nil {
			kp = *body.KernelParameters
		}
		l, err := s.writeArtifacts(img.ID, img.Name, img.Arch, kp, now)
		if err != nil {
			s.mu.Unlock()
			problem.WriteError(w, fmt.Errorf("create image: %w", err))
			return
		}
		img.Link = &l
	}
	s.images[img.ID] = &img
	out := cloneImage(&img)
	s.mu.Unlock()
	s.log.Info("ims image created", "id", img.ID, "name", img.Name, "arch", img.Arch, "generated", generate)
	writeJSON(w, http.StatusCreated, out)
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// checkLink decodes a link strictly and checks that it names a readable manifest in this
// store (IMS validates the manifest of a link it is given).
func (s *Server) checkLink(raw json.RawMessage) (imsapi.Link, *problem.Details) {
	if isNull(raw) {
		return imsapi.Link{}, unprocessable("link: must not be null")
	}
	var l imsapi.Link
	if p := problem.Decode(bytes.NewReader(raw), &l); p != nil {
		if p.Status == http.StatusBadRequest {
			p = unprocessable("link: %s", p.Detail)
		}
		return imsapi.Link{}, p
	}
	if l.Type != imsapi.LinkTypeS3 {
		return imsapi.Link{}, unprocessable("link.type: must be %q, not %q", imsapi.LinkTypeS3, l.Type)
	}
	if _, err := s.readStoredManifest(l); err != nil {
		return imsapi.Link{}, unprocessable("link: the image manifest could not be read: %v", err)
	}
	return l, nil
}

// readStoredManifest reads and leniently decodes the manifest a link names.
func (s *Server) readStoredManifest(l imsapi.Link) (imsapi.Manifest, error) {
	bucket, key, err := imsapi.ParseS3Path(l.Path)
	if err != nil {
		return imsapi.Manifest{}, err
	}
	obj, err := s.store.get(bucket, key)
	if err != nil {
		return imsapi.Manifest{}, err
	}
	return imsapi.DecodeManifest(obj.data)
}

// metadataOp is one metadata change. BOS sends one as an object; IMS's schema has a list.
type metadataOp struct {
	Operation string  `json:"operation"`
	Key       string  `json:"key"`
	Value     *string `json:"value"`
}

// parseMetadataOps accepts a single operation object or a list of them.
func parseMetadataOps(raw json.RawMessage) ([]metadataOp, *problem.Details) {
	trimmed := bytes.TrimSpace(raw)
	var ops []metadataOp
	var p *problem.Details
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		p = problem.Decode(bytes.NewReader(trimmed), &ops)
	case len(trimmed) > 0 && trimmed[0] == '{':
		var op metadataOp
		p = problem.Decode(bytes.NewReader(trimmed), &op)
		ops = []metadataOp{op}
	default:
		return nil, unprocessable("metadata: must be an operation object or a list of them")
	}
	if p != nil {
		return nil, unprocessable("metadata: %s", p.Detail)
	}
	for i, op := range ops {
		if op.Operation != "set" && op.Operation != "remove" {
			return nil, unprocessable("metadata[%d].operation: must be set or remove, not %q", i, op.Operation)
		}
		if op.Key == "" {
			return nil, unprocessable("metadata[%d].key: must not be blank", i)
		}
	}
	return ops, nil
}

type patchBody struct {
	Link     json.RawMessage `json:"link"`
	Arch     *string         `json:"arch"`
	Metadata json.RawMessage `json:"metadata"`
}

// patchImage updates link (only when the record has none, or to the same value: anything
// else is 409), arch and metadata. Everything is validated before anything changes.
func (s *Server) patchImage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := s.Image(id); !ok {
		problem.Write(w, http.StatusNotFound, detailNotFound)
		return
	}
	var body patchBody
	if p := problem.DecodeJSON(w, r, &body, maxJSONBody); p != nil {
		problem.WriteDetails(w, p)
		return
	}
	if body.Link == nil && body.Arch == nil && body.Metadata == nil {
		problem.Write(w, http.StatusBadRequest, detailNoInput)
		return
	}
	if body.Arch != nil && !validArch(*body.Arch) {
		problem.WriteDetails(w, unprocessable("arch: must be one of x86_64, aarch64, not %q", *body.Arch))
		return
	}
	var ops []metadataOp
	if body.Metadata != nil {
		var p *problem.Details
		if ops, p = parseMetadataOps(body.Metadata); p != nil {
			problem.WriteDetails(w, p)
			return
		}
	}
	var link imsapi.Link
	if body.Link != nil {
		if isNull(body.Link) {
			problem.WriteDetails(w, unprocessable("link: must not be null"))
			return
		}
		if p := problem.Decode(bytes.NewReader(body.Link), &link); p != nil {
			problem.WriteDetails(w, unprocessable("link: %s", p.Detail))
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.images[id]
	if cur == nil { // deleted since the first look
		problem.Write(w, http.StatusNotFound, detailNotFound)
		return
	}
	next := cloneImage(cur)
	if body.Link != nil {
		switch {
		case cur.Link != nil && *cur.Link == link: // idempotent re-PATCH, as IMS allows
		case cur.Link != nil:
			problem.Write(w, http.StatusConflict, detailConflict)
			return
		default:
			checked, p := s.checkLink(body.Link)
			if p != nil {
				problem.WriteDetails(w, p)
				return
			}
			next.Link = &checked
		}
	}
	if body.Arch != nil {
		next.Arch = *body.Arch
	}
	for _, op := range ops {
		if op.Operation == "remove" {
			delete(next.Metadata, op.Key)
			continue
		}
		v := ""
		if op.Value != nil {
			v = *op.Value
		}
		next.Metadata[op.Key] = v
	}
	s.images[id] = &next
	writeJSON(w, http.StatusOK, cloneImage(&next))
}

func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request) {
	if err := s.DeleteImage(r.PathValue("id")); err != nil {
		problem.Write(w, http.StatusNotFound, detailNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteAllImages(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	for _, img := range s.listLocked() {
		s.softDeleteLocked(s.images[img.ID])
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// DeleteImage soft-deletes an image as DELETE /v3/images/{id} does: its artifacts and
// manifest move under deleted/ in their bucket, a deleted_manifest.json lists them, and
// the record moves to the deleted table. ErrImageNotFound if there is no such image.
func (s *Server) DeleteImage(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	img := s.images[id]
	if img == nil {
		return fmt.Errorf("delete image %s: %w", id, imsapi.ErrImageNotFound)
	}
	s.softDeleteLocked(img)
	return nil
}

func (s *Server) softDeleteLocked(img *imsapi.Image) {
	d := &imsapi.DeletedImage{Image: cloneImage(img), Deleted: formatCreated(s.now())}
	if img.Link != nil {
		link, err := s.softDeleteArtifacts(img.ID, *img.Link)
		if err != nil {
			// As IMS: an unreadable manifest leaves the objects and the link alone.
			s.log.Warn("ims soft delete: manifest unreadable, artifacts left in place", "id", img.ID, "err", err)
		} else {
			d.Link = &link
		}
	}
	s.deleted[img.ID] = d
	delete(s.images, img.ID)
	s.log.Info("ims image deleted", "id", img.ID, "name", img.Name)
}

// softDeleteArtifacts moves every artifact a manifest lists, then the manifest, under
// deleted/, and writes deleted/<id>/deleted_manifest.json naming the new places.
func (s *Server) softDeleteArtifacts(id string, manifest imsapi.Link) (imsapi.Link, error) {
	m, err := s.readStoredManifest(manifest)
	if err != nil {
		return imsapi.Link{}, err
	}
	bucket, key, _ := imsapi.ParseS3Path(manifest.Path) // readStoredManifest parsed it already
	moved := make([]imsapi.Artifact, 0, len(m.Artifacts)+1)
	move := func(b, k, typ, md5 string) {
		info, err := s.store.move(b, k, deletedPrefix+k)
		if err != nil {
			s.log.Warn("ims soft delete: artifact not moved", "id", id, "path", imsapi.S3Path(b, k), "err", err)
			return
		}
		moved = append(moved, imsapi.Artifact{Link: imsapi.Link{Path: imsapi.S3Path(b, info.Key), ETag: info.ETag, Type: imsapi.LinkTypeS3}, Type: typ, MD5: md5})
	}
	for _, a := range m.Artifacts {
		ab, ak, err := imsapi.ParseS3Path(a.Link.Path)
		if err != nil {
			s.log.Warn("ims soft delete: artifact link is not s3", "id", id, "path", a.Link.Path)
			continue
		}
		move(ab, ak, a.Type, a.MD5)
	}
	move(bucket, key, imsapi.ArtifactManifest, "")
	return s.writeManifest(Bucket, deletedPrefix+id+"/deleted_manifest.json", moved)
}

func (s *Server) writeManifest(bucket, key string, artifacts []imsapi.Artifact) (imsapi.Link, error) {
	raw, err := json.MarshalIndent(imsapi.Manifest{Version: imsapi.ManifestVersion, Created: manifestCreated(s.now()), Artifacts: artifacts}, "", "  ")
	if err != nil {
		return imsapi.Link{}, fmt.Errorf("encode manifest: %w", err)
	}
	info, err := s.store.put(bucket, key, raw, "application/json")
	if err != nil {
		return imsapi.Link{}, fmt.Errorf("write manifest: %w", err)
	}
	return imsapi.Link{Path: imsapi.S3Path(bucket, info.Key), ETag: info.ETag, Type: imsapi.LinkTypeS3}, nil
}

func (s *Server) listDeleted(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	out := make([]imsapi.DeletedImage, 0, len(s.deleted))
	for _, d := range s.deleted {
		out = append(out, cloneDeleted(d))
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Deleted != out[j].Deleted {
			return out[i].Deleted < out[j].Deleted
		}
		return out[i].ID < out[j].ID
	})
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getDeleted(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	d := s.deleted[r.PathValue("id")]
	var out imsapi.DeletedImage
	if d != nil {
		out = cloneDeleted(d)
	}
	s.mu.RUnlock()
	if d == nil {
		problem.Write(w, http.StatusNotFound, detailNotFound)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// decodeUndelete reads {"operation": "undelete"}, the only deleted-image PATCH.
func decodeUndelete(w http.ResponseWriter, r *http.Request) *problem.Details {
	var body struct {
		Operation *string `json:"operation"`
	}
	if p := problem.DecodeJSON(w, r, &body, maxJSONBody); p != nil {
		return p
	}
	if body.Operation == nil {
		return problem.New(http.StatusBadRequest, detailNoInput)
	}
	if *body.Operation != "undelete" {
		return unprocessable("operation: must be undelete, not %q", *body.Operation)
	}
	return nil
}

func (s *Server) undeleteImage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.RLock()
	exists := s.deleted[id] != nil
	s.mu.RUnlock()
	if !exists {
		problem.Write(w, http.StatusNotFound, detailNotFound)
		return
	}
	if p := decodeUndelete(w, r); p != nil {
		problem.WriteDetails(w, p)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deleted[id]
	if d == nil {
		problem.Write(w, http.StatusNotFound, detailNotFound)
		return
	}
	plan, err := s.planUndelete(d)
	if err != nil {
		problem.WriteDetails(w, unprocessable("the image's deleted manifest could not be read: %v", err))
		return
	}
	s.undeleteLocked(d, plan)
	w.WriteHeader(http.StatusNoContent)
}

// undeleteAll restores every deleted image, or none when any deleted manifest is
// unreadable.
func (s *Server) undeleteAll(w http.ResponseWriter, r *http.Request) {
	if p := decodeUndelete(w, r); p != nil {
		problem.WriteDetails(w, p)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	plans := make(map[string]*imsapi.Manifest, len(s.deleted))
	for id, d := range s.deleted {
		plan, err := s.planUndelete(d)
		if err != nil {
			problem.WriteDetails(w, unprocessable("image %s: the deleted manifest could not be read: %v", id, err))
			return
		}
		plans[id] = plan
	}
	for id, d := range s.deleted {
		s.undeleteLocked(d, plans[id])
	}
	w.WriteHeader(http.StatusNoContent)
}

// planUndelete reads the deleted manifest of d. A nil plan means there is nothing to move
// back: the image has no link, or its link was left in place at delete time.
func (s *Server) planUndelete(d *imsapi.DeletedImage) (*imsapi.Manifest, error) {
	if d.Link == nil {
		return nil, nil
	}
	if _, key, err := imsapi.ParseS3Path(d.Link.Path); err != nil || !strings.HasPrefix(key, deletedPrefix) {
		return nil, nil
	}
	m, err := s.readStoredManifest(*d.Link)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

func (s *Server) undeleteLocked(d *imsapi.DeletedImage, plan *imsapi.Manifest) {
	img := cloneImage(&d.Image)
	if plan != nil {
		restored := false
		for _, a := range plan.Artifacts {
			b, k, err := imsapi.ParseS3Path(a.Link.Path)
			if err != nil || !strings.HasPrefix(k, deletedPrefix) {
				s.log.Warn("ims undelete: artifact not under deleted/", "id", d.ID, "path", a.Link.Path)
				continue
			}
			info, err := s.store.move(b, k, strings.TrimPrefix(k, deletedPrefix))
			if err != nil {
				s.log.Warn("ims undelete: artifact not moved back", "id", d.ID, "path", a.Link.Path, "err", err)
				continue
			}
			if a.Type == imsapi.ArtifactManifest {
				img.Link = &imsapi.Link{Path: imsapi.S3Path(b, info.Key), ETag: info.ETag, Type: imsapi.LinkTypeS3}
				restored = true
			}
		}
		if restored { // the record points at the original manifest again
			b, k, _ := imsapi.ParseS3Path(d.Link.Path)
			_ = s.store.remove(b, k)
		}
	}
	s.images[d.ID] = &img
	delete(s.deleted, d.ID)
	s.log.Info("ims image undeleted", "id", d.ID, "name", d.Name)
}

func (s *Server) purgeImage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deleted[id]
	if d == nil {
		problem.Write(w, http.StatusNotFound, detailNotFound)
		return
	}
	s.purgeLocked(d)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) purgeAll(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.deleted {
		s.purgeLocked(d)
	}
	w.WriteHeader(http.StatusNoContent)
}

// purgeLocked permanently deletes a deleted image: every object its (deleted) manifest
// lists, the manifest itself, and the record.
func (s *Server) purgeLocked(d *imsapi.DeletedImage) {
	if d.Link != nil {
		if m, err := s.readStoredManifest(*d.Link); err != nil {
			s.log.Warn("ims purge: manifest unreadable, no objects removed", "id", d.ID, "err", err)
		} else {
			for _, a := range m.Artifacts {
				if b, k, err := imsapi.ParseS3Path(a.Link.Path); err == nil {
					_ = s.store.remove(b, k)
				}
			}
			b, k, _ := imsapi.ParseS3Path(d.Link.Path)
			_ = s.store.remove(b, k)
		}
	}
	delete(s.deleted, d.ID)
	s.log.Info("ims image purged", "id", d.ID, "name", d.Name)
}
