// Package spool is a bounded, durable first-in first-out queue of byte
// frames in a directory: the trace writer's refuge when its store is down or
// slow. Frames are appended to segment files and read back, oldest first,
// one at a time; a frame is dropped only when its reader acknowledges it,
// so a process that dies between using a frame and acknowledging it reads
// it again at the next start (consumers make that harmless, see
// trace.Writer).
//
// On disk, a segment is a 12-byte header ("OGWSPOOL" and a little-endian
// uint32 format version, 1) followed by frames, each a little-endian uint32
// payload length, the payload's CRC-32C, and the payload. A frame is
// written with one write call and synced before Append returns, so a crash
// of the process or the machine loses no acknowledged Append. A torn tail
// (a crash in the middle of a write) or a frame whose checksum fails is
// detected, skipped and counted, never handed out. Appends never go after a
// torn tail: a spool opened on existing segments appends to a new one.
//
// The spool holds at most its byte bound on disk (segment headers and frame
// headers included); an Append that would pass it fails with ErrFull, and
// the caller decides what that costs. One process at a time may use a
// directory: Open takes an exclusive lock on it.
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrFull is returned by Append when the frame would take the spool past
// its byte bound.
var ErrFull = errors.New("spool: full")

// Format constants. The version changes whenever the framing does; a
// segment of an unknown version is set aside, not misread.
const (
	magic         = "OGWSPOOL"
	formatVersion = 1
	headerLen     = 12 // magic and version
	frameHeadLen  = 8
	segmentSuffix = ".seg"
	// maxFrameLen rejects a length field that cannot be real before any
	// allocation: no batch comes near it.
	maxFrameLen = 1 << 30
	// minSegmentBytes and maxSegmentBytes bound a segment's target size
	// (a sixteenth of the spool's bound): small enough that the spool
	// gives disk back as it drains, and that a crash re-reads little.
	minSegmentBytes = 64 << 10
	maxSegmentBytes = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segment is one file of frames.
type segment struct {
	seq  uint64
	path string
	// size is the end of the last complete frame: readers never look
	// past it (a torn tail lies beyond it, and appends go nowhere else).
	size int64
	// disk is the file's size on disk, torn tail included: what counts
	// against the bound.
	disk   int64
	frames int64 // complete frames not yet acknowledged
	// start is where reading begins: past the header, or past the frames
	// an earlier process acknowledged (see cursorFile).
	start int64
}

// cursorFile holds the reader's position (segment sequence and offset, two
// little-endian uint64s), rewritten on every Ack without a sync: it spares
// a restarted process from reading acknowledged frames again. It is only
// an optimisation: when it is lost or stale, those frames are read again,
// which the spool's consumer must bear anyway (a crash between using a
// frame and acknowledging it).
const cursorFile = "CURSOR"

// Stats is a snapshot of the spool.
type Stats struct {
	MaxBytes int64 // the bound
	Bytes    int64 // on disk now, in segment files
	Files    int   // segment files
	Pending  int64 // frames appended and not yet acknowledged
	// Corrupt counts what was skipped as unreadable since Open: torn
	// tails, frames whose checksum failed, segments with a bad header.
	Corrupt int64
}

// Spool is an open spool directory. Append may be called from one
// goroutine and Peek/Ack from another at the same time.
type Spool struct {
	dir      string
	maxBytes int64
	segBytes int64
	unlock   func()

	mu      sync.Mutex
	segs    []*segment // oldest first; the last may be the active one
	active  *os.File   // appends go here (segs[len-1]); nil until the first Append
	nextSeq uint64
	bytes   int64
	pending int64
	corrupt int64

	// Reader state, used by the Peek/Ack goroutine only.
	readFile *os.File // segs[0], opened for reading
	cursor   *os.File // cursorFile
	readSeq  uint64
	readOff  int64 // next frame of segs[0]
	peekEnd  int64 // end of the frame Peek returned; 0 when none
	closed   bool
}

// Open opens (creating it when needed) the spool in dir, bounded to
// maxBytes on disk, and scans what an earlier process left there: those
// frames are read first. It fails when another process holds dir.
func Open(dir string, maxBytes int64) (*Spool, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("spool: max bytes must be positive")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Spool{dir: dir, maxBytes: maxBytes, unlock: unlock, nextSeq: 1}
	s.segBytes = min(max(maxBytes/16, minSegmentBytes), maxSegmentBytes)
	if err := s.scan(); err != nil {
		unlock()
		return nil, err
	}
	if s.cursor, err = os.OpenFile(filepath.Join(dir, cursorFile), os.O_CREATE|os.O_RDWR, 0o600); err != nil {
		unlock()
		return nil, fmt.Errorf("spool: %w", err)
	}
	return s, nil
}

// scan loads the segments in dir, oldest first, checking that their frames
// chain up to the end of the file. Where they stop short (a torn tail), the
// rest is counted as corrupt and never read.
func (s *Spool) scan() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var curSeq uint64
	var curOff int64
	if raw, err := os.ReadFile(filepath.Join(s.dir, cursorFile)); err == nil && len(raw) == 16 {
		curSeq, curOff = binary.LittleEndian.Uint64(raw[:8]), int64(binary.LittleEndian.Uint64(raw[8:]))
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, segmentSuffix) || e.IsDir() {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, segmentSuffix), 10, 64)
		if err != nil {
			continue // not ours
		}
		from := int64(0)
		if seq == curSeq {
			from = curOff
		}
		seg, err := scanSegment(filepath.Join(s.dir, name), seq, from)
		if errors.Is(err, errBadHeader) {
			// Another format or garbage: set it aside for a person to
			// look at rather than misread or delete it.
			s.corrupt++
			if rerr := os.Rename(seg.path, seg.path+".corrupt"); rerr != nil {
				return fmt.Errorf("spool: setting aside %s: %w", name, rerr)
			}
			continue
		}
		if err != nil {
			return err
		}
		if seg.size < seg.disk {
			s.corrupt++ // a torn tail
		}
		s.segs = append(s.segs, seg)
		s.bytes += seg.disk
		s.pending += seg.frames
		s.nextSeq = max(s.nextSeq, seq+1)
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i].seq < s.segs[j].seq })
	return nil
}

var errBadHeader = errors.New("spool: bad segment header")

// scanSegment walks a segment's frame headers (not their payloads: those
// are checked as they are read) to find where its complete frames end.
// Reading starts at from when a frame starts there (the cursor of an
// earlier process), else at the first frame.
func scanSegment(path string, seq uint64, from int64) (*segment, error) {
	seg := &segment{seq: seq, path: path, start: headerLen}
	f, err := os.Open(path)
	if err != nil {
		return seg, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return seg, fmt.Errorf("spool: %w", err)
	}
	seg.disk = info.Size()
	var head [headerLen]byte
	if _, err := io.ReadFull(f, head[:]); err != nil || string(head[:len(magic)]) != magic ||
		binary.LittleEndian.Uint32(head[len(magic):]) != formatVersion {
		if seg.disk == 0 {
			// Created and never written (a crash right after
			// creating it): nothing was lost, count nothing.
			seg.size = 0
			return seg, nil
		}
		return seg, errBadHeader
	}
	off := int64(headerLen)
	var fh [frameHeadLen]byte
	var before int64 // frames before from
	for {
		if off == from {
			seg.start, before = from, seg.frames
		}
		if _, err := f.ReadAt(fh[:], off); err != nil {
			break // end of file, or a torn frame header
		}
		n := int64(binary.LittleEndian.Uint32(fh[:4]))
		if n > maxFrameLen || off+frameHeadLen+n > seg.disk {
			break // a torn payload (or a garbled length)
		}
		off += frameHeadLen + n
		seg.frames++
	}
	seg.size = off
	seg.frames -= before
	return seg, nil
}

// Append adds payload as one frame at the end of the spool and syncs it to
// disk. It returns ErrFull, appending nothing, when the frame would take
// the spool past its bound.
func (s *Spool) Append(payload []byte) error {
	if len(payload) > maxFrameLen {
		return fmt.Errorf("spool: a frame of %d bytes is larger than %d", len(payload), maxFrameLen)
	}
	frame := make([]byte, frameHeadLen+len(payload))
	binary.LittleEndian.PutUint32(frame[:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[4:8], crc32.Checksum(payload, castagnoli))
	copy(frame[frameHeadLen:], payload)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("spool: closed")
	}
	need := int64(len(frame))
	newSegment := s.active == nil || s.segs[len(s.segs)-1].size+need > s.segBytes
	if newSegment {
		need += headerLen
	}
	if s.bytes+need > s.maxBytes {
		return ErrFull
	}
	if newSegment {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	seg := s.segs[len(s.segs)-1]
	_, err := s.active.Write(frame)
	if err == nil {
		err = s.active.Sync()
	}
	if err != nil {
		// Take back whatever part of the frame reached the file, so that
		// no reader hands out a frame its caller was told had failed, and
		// start a new segment next time (the reader never looks past
		// seg.size, whatever is left beyond it).
		_ = s.active.Truncate(seg.size)
		s.seal()
		s.refreshDisk(seg)
		return fmt.Errorf("spool: %w", err)
	}
	seg.size += int64(len(frame))
	seg.disk += int64(len(frame))
	seg.frames++
	s.bytes += int64(len(frame))
	s.pending++
	return nil
}

// refreshDisk re-reads a segment's size on disk after a failed write.
func (s *Spool) refreshDisk(seg *segment) {
	if info, err := os.Stat(seg.path); err == nil {
		s.bytes += info.Size() - seg.disk
		seg.disk = info.Size()
	}
}

// rotate seals the active segment and starts a new one.
func (s *Spool) rotate() error {
	s.seal()
	seg := &segment{seq: s.nextSeq, path: filepath.Join(s.dir, fmt.Sprintf("%020d%s", s.nextSeq, segmentSuffix))}
	f, err := os.OpenFile(seg.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var head [headerLen]byte
	copy(head[:], magic)
	binary.LittleEndian.PutUint32(head[len(magic):], formatVersion)
	if _, err := f.Write(head[:]); err != nil {
		f.Close()
		os.Remove(seg.path)
		return fmt.Errorf("spool: %w", err)
	}
	// The new file's name must survive a crash too.
	if err := syncDir(s.dir); err != nil {
		f.Close()
		os.Remove(seg.path)
		return err
	}
	s.nextSeq++
	seg.size, seg.disk = headerLen, headerLen
	s.segs = append(s.segs, seg)
	s.bytes += headerLen
	s.active = f
	return nil
}

// seal closes the active segment's file: later appends start a new one.
func (s *Spool) seal() {
	if s.active != nil {
		s.active.Close()
		s.active = nil
	}
}

// Peek returns the oldest frame not yet acknowledged, without removing it;
// ok is false when there is none. Calling Peek again before Ack returns
// the same frame. Frames that fail their checksum are skipped and counted.
func (s *Spool) Peek() (payload []byte, ok bool, err error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, false, errors.New("spool: closed")
		}
		if len(s.segs) == 0 {
			s.mu.Unlock()
			return nil, false, nil
		}
		seg := s.segs[0]
		if s.readFile == nil || s.readSeq != seg.seq {
			if s.readFile != nil {
				s.readFile.Close()
			}
			f, err := os.Open(seg.path)
			if err != nil {
				s.mu.Unlock()
				return nil, false, fmt.Errorf("spool: %w", err)
			}
			s.readFile, s.readSeq, s.readOff = f, seg.seq, max(seg.start, headerLen)
		}
		size, isActive := seg.size, s.active != nil && seg == s.segs[len(s.segs)-1]
		if s.readOff >= size {
			if isActive {
				s.mu.Unlock()
				return nil, false, nil
			}
			// A sealed segment read to its end (a torn tail included).
			err := s.dropHead()
			s.mu.Unlock()
			if err != nil {
				return nil, false, err
			}
			continue
		}
		f, off := s.readFile, s.readOff
		s.mu.Unlock()

		// Frames up to size are complete and no longer change, so they
		// are read without the lock, beside a running Append.
		var fh [frameHeadLen]byte
		if _, err := f.ReadAt(fh[:], off); err != nil {
			return nil, false, fmt.Errorf("spool: %w", err)
		}
		n := int64(binary.LittleEndian.Uint32(fh[:4]))
		if n > maxFrameLen || off+frameHeadLen+n > size {
			// Cannot happen for frames this process appended or scan
			// accepted; skip the segment's rest rather than loop.
			s.mu.Lock()
			s.corrupt++
			s.pending -= seg.frames
			seg.frames = 0
			s.readOff = size
			s.mu.Unlock()
			continue
		}
		payload = make([]byte, n)
		if _, err := f.ReadAt(payload, off+frameHeadLen); err != nil {
			return nil, false, fmt.Errorf("spool: %w", err)
		}
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(fh[4:8]) {
			// A damaged frame: its length chained up with the rest, so
			// only it is skipped.
			s.mu.Lock()
			s.corrupt++
			s.pending--
			seg.frames--
			s.readOff = off + frameHeadLen + n
			s.mu.Unlock()
			continue
		}
		s.peekEnd = off + frameHeadLen + n
		return payload, true, nil
	}
}

// Ack removes the frame the last Peek returned. A segment is deleted once
// all of its frames are acknowledged, which gives its disk space back.
func (s *Spool) Ack() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peekEnd == 0 || len(s.segs) == 0 {
		return errors.New("spool: Ack without a Peek")
	}
	seg := s.segs[0]
	s.readOff, s.peekEnd = s.peekEnd, 0
	seg.frames--
	s.pending--
	if s.readOff < seg.size {
		var cur [16]byte
		binary.LittleEndian.PutUint64(cur[:8], seg.seq)
		binary.LittleEndian.PutUint64(cur[8:], uint64(s.readOff))
		if _, err := s.cursor.WriteAt(cur[:], 0); err != nil {
			return fmt.Errorf("spool: cursor: %w", err)
		}
		return nil
	}
	if s.active != nil && seg == s.segs[len(s.segs)-1] {
		// The active segment is read to its end: the spool is empty.
		// Start afresh, so an idle spool holds no files.
		s.seal()
	}
	return s.dropHead()
}

// dropHead deletes segs[0]. Called with mu held.
func (s *Spool) dropHead() error {
	seg := s.segs[0]
	if s.readFile != nil && s.readSeq == seg.seq {
		s.readFile.Close()
		s.readFile = nil
	}
	s.segs = s.segs[1:]
	s.bytes -= seg.disk
	s.pending -= seg.frames
	if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// Pending is the number of frames not yet acknowledged.
func (s *Spool) Pending() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

// Stats returns the spool's current figures.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{MaxBytes: s.maxBytes, Bytes: s.bytes, Files: len(s.segs), Pending: s.pending, Corrupt: s.corrupt}
}

// Close closes the spool's files and releases the directory. Frames not
// acknowledged stay on disk for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.seal()
	if s.readFile != nil {
		s.readFile.Close()
		s.readFile = nil
	}
	s.cursor.Close()
	s.unlock()
	return nil
}

// syncDir makes a directory's entries (a new file's name) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: sync dir: %w", err)
	}
	return nil
}
