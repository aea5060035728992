package records

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Columns of the image table that preprocessing builds from a folder of
// images.
const (
	ImagePathColumn = "image_path"
	FileNameColumn  = "file_name"
)

// ImageHeader is the header of image records: record_id, image_path,
// file_name.
var ImageHeader = MustHeader(IDColumn, ImagePathColumn, FileNameColumn)

// ImageID is the deterministic record id of an image: "img-" and the first
// 16 hex digits of the SHA-256 of its URI, so reruns over the same objects
// give the same ids.
func ImageID(uri string) string {
	sum := sha256.Sum256([]byte(uri))
	return "img-" + hex.EncodeToString(sum[:8])
}

// ImageRecord is the record of one image given its S3 URI or local path:
// record_id from ImageID, image_path the URI, file_name its last path
// segment.
func ImageRecord(uri string) Record {
	name := uri[strings.LastIndexAny(uri, `/\`)+1:]
	return Record{Header: ImageHeader, Values: []string{ImageID(uri), uri, name}, Source: uri}
}

// IsImageKey reports whether an object key or path names an image bbo can
// send to a model: .jpg, .jpeg, .png, .gif or .webp, in any letter case.
func IsImageKey(key string) bool {
	dot := strings.LastIndexByte(key, '.')
	if dot < 0 || strings.ContainsAny(key[dot:], `/\`) {
		return false
	}
	switch strings.ToLower(key[dot+1:]) {
	case "jpg", "jpeg", "png", "gif", "webp":
		return true
	}
	return false
}
