package ims

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cray-bos/bos/api/imsapi"
	"github.com/cray-bos/bos/internal/problem"
)

// Bucket is the bucket IMS keeps boot images in.
const Bucket = "boot-images"

// DefaultMaxObjectBytes is the default upload limit of the object store.
const DefaultMaxObjectBytes = 16 << 20

// Errors of the Go API.
var (
	// ErrImageExists: AddImage was given a name whose derived id is already used (by a
	// live or a deleted image).
	ErrImageExists = errors.New("image already exists")
	// ErrInvalidImage: a name is empty or an arch is not x86_64/aarch64.
	ErrInvalidImage = errors.New("invalid image")
)

// Config configures a Server. The zero value serves the default seed images.
type Config struct {
	// Images to create at start, each with its artifacts, manifest and an id derived from
	// its name (ImageID). Nil means DefaultImages(); an empty, non-nil slice means none.
	Images []ImageSpec
	// MaxObjectBytes bounds one S3 upload, in bytes. Default DefaultMaxObjectBytes (16 MiB).
	MaxObjectBytes int64
	// Logger receives request and lifecycle logs. Nil discards them.
	Logger *slog.Logger
	// Now is the clock for created/deleted stamps and Last-Modified. Default time.Now.
	Now func() time.Time
}

// Server holds the image records and the object store. All state hangs off it; several
// may run in one process.
type Server struct {
	log       *slog.Logger
	now       func() time.Time
	maxObject int64
	started   time.Time
	reqSeq    atomic.Uint64

	store *objectStore

	// mu guards the image tables. It is taken before the store's own lock, never after.
	mu      sync.RWMutex
	images  map[string]*imsapi.Image
	deleted map[string]*imsapi.DeletedImage
}

// New builds a Server and seeds its images.
func New(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxObjectBytes < 0 {
		return nil, fmt.Errorf("ims: MaxObjectBytes %d is negative", cfg.MaxObjectBytes)
	}
	if cfg.MaxObjectBytes == 0 {
		cfg.MaxObjectBytes = DefaultMaxObjectBytes
	}
	if cfg.Images == nil {
		cfg.Images = DefaultImages()
	}
	s := &Server{
		log:       cfg.Logger,
		now:       cfg.Now,
		maxObject: cfg.MaxObjectBytes,
		started:   cfg.Now().UTC(),
		store:     newObjectStore(cfg.Now),
		images:    map[string]*imsapi.Image{},
		deleted:   map[string]*imsapi.DeletedImage{},
	}
	s.store.createBucket(Bucket)
	for _, spec := range cfg.Images {
		if _, err := s.addImage(spec); err != nil {
			return nil, fmt.Errorf("ims: seed %q: %w", spec.Name, err)
		}
	}
	return s, nil
}

// IMSHandler serves the IMS API under /v3 and /apis/ims/v3; requests no route serves get
// IMS's (connexion's) 404 and 405 problems.
func (s *Server) IMSHandler() http.Handler {
	mux := http.NewServeMux()
	s.imsRoutes(mux)
	return problem.Routes(mux)
}

// S3Handler serves the object store, path-style (/{bucket}/{key...}).
func (s *Server) S3Handler() http.Handler {
	mux := http.NewServeMux()
	s.s3Routes(mux)
	return mux
}

// Handler serves IMS and S3 on one mux: the IMS paths win, everything else is S3, so
// buckets named "v3", "apis" or "healthz" are unreachable through it.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.imsRoutes(mux)
	s.s3Routes(mux)
	return mux
}

// Images returns copies of the live image records, oldest first.
func (s *Server) Images() []imsapi.Image {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.listLocked()
}

func (s *Server) listLocked() []imsapi.Image {
	out := make([]imsapi.Image, 0, len(s.images))
	for _, img := range s.images {
		out = append(out, cloneImage(img))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Created != out[j].Created {
			return out[i].Created < out[j].Created
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Image returns a copy of one live image record.
func (s *Server) Image(id string) (imsapi.Image, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	img, ok := s.images[id]
	if !ok {
		return imsapi.Image{}, false
	}
	return cloneImage(img), true
}

// AddImage creates an image with id ImageID(name): fake kernel, initrd and rootfs
// objects, a boot parameters object holding kernelParams (DefaultKernelParameters(arch)
// when empty), a manifest, and the IMS record linking to it. arch "" means x86_64.
func (s *Server) AddImage(name, arch, kernelParams string) (imsapi.Image, error) {
	return s.addImage(ImageSpec{Name: name, Arch: arch, KernelParameters: kernelParams})
}

func (s *Server) addImage(spec ImageSpec) (imsapi.Image, error) {
	if spec.Name == "" {
		return imsapi.Image{}, fmt.Errorf("add image: %w: name is empty", ErrInvalidImage)
	}
	if spec.Arch == "" {
		spec.Arch = imsapi.ArchX86_64
	}
	if !validArch(spec.Arch) {
		return imsapi.Image{}, fmt.Errorf("add image %q: %w: arch %q is not x86_64 or aarch64", spec.Name, ErrInvalidImage, spec.Arch)
	}
	created := spec.Created
	if created.IsZero() {
		created = s.now()
	}
	id := ImageID(spec.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.images[id] != nil || s.deleted[id] != nil {
		return imsapi.Image{}, fmt.Errorf("add image %q: %w (id %s)", spec.Name, ErrImageExists, id)
	}
	link, err := s.writeArtifacts(id, spec.Name, spec.Arch, spec.KernelParameters, created)
	if err != nil {
		return imsapi.Image{}, fmt.Errorf("add image %q: %w", spec.Name, err)
	}
	img := &imsapi.Image{ID: id, Name: spec.Name, Created: formatCreated(created), Link: &link, Arch: spec.Arch, Metadata: map[string]string{}}
	s.images[id] = img
	s.log.Info("ims image added", "id", id, "name", spec.Name, "arch", spec.Arch)
	return cloneImage(img), nil
}

// PutObject stores an object as an S3 PUT would (for tests and fault injection, e.g.
// replacing a manifest with garbage). The bucket must exist.
func (s *Server) PutObject(bucket, key string, data []byte, contentType string) (imsapi.ObjectInfo, error) {
	return s.store.put(bucket, key, data, contentType)
}

// GetObject returns a copy of an object's content and its description.
func (s *Server) GetObject(bucket, key string) ([]byte, imsapi.ObjectInfo, error) {
	obj, err := s.store.get(bucket, key)
	if err != nil {
		return nil, imsapi.ObjectInfo{}, err
	}
	return append([]byte(nil), obj.data...), obj.info, nil
}

// DeleteObject removes an object (for tests and fault injection, e.g. a missing kernel).
func (s *Server) DeleteObject(bucket, key string) error {
	return s.store.remove(bucket, key)
}

// CreateBucket makes a bucket if it does not exist.
func (s *Server) CreateBucket(name string) { s.store.createBucket(name) }

func validArch(a string) bool { return a == imsapi.ArchX86_64 || a == imsapi.ArchAarch64 }
