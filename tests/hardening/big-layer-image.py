#!/usr/bin/env python3
"""Big-layer test images for tests/hardening/big-layer.sh: busybox:1.35 from the fixture
layout plus one layer that takes the node minutes to handle, as an OCI layout with one tag.

  big-layer-image.py FIXTURE_LAYOUT OUT_LAYOUT files N   N empty files (gzip), 1000 to a dir
  big-layer-image.py FIXTURE_LAYOUT OUT_LAYOUT bytes N   one file of N pseudo-random bytes
                                                         (a seeded generator: incompressible,
                                                         fast, the same every run; plain tar)

Written here rather than with tar(1) because a million files on disk take longer to create
than to stream: the tar is generated directly, its digests computed as it is written."""
import gzip
import hashlib
import json
import os
import random
import sys
import tarfile

CHUNK = 4 << 20


class Hashing:
    """A file object that writes through and hashes what it is given."""

    def __init__(self, f):
        self.f, self.h, self.n = f, hashlib.sha256(), 0

    def write(self, b):
        self.h.update(b)
        self.n += len(b)
        return self.f.write(b)

    def flush(self):
        self.f.flush()


def blob_dir(layout):
    d = os.path.join(layout, "blobs", "sha256")
    os.makedirs(d, exist_ok=True)
    return d


def put_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blob_dir(layout), digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def read_blob(layout, digest):
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1]), "rb") as f:
        return f.read()


def ustar_header(name, typeflag, mode):
    """A ustar header for an empty entry owned by 0:0 with mtime 0 (names under 100 bytes)."""
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"%07o\0" % mode
    h[108:116] = h[116:124] = b"0000000\0"
    h[124:136] = h[136:148] = b"00000000000\0"
    h[148:156] = b" " * 8
    h[156:157] = typeflag
    h[257:265] = b"ustar\x0000"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def layer_files(out, n):
    """tar+gzip of n empty files in dirs of 1000: returns (digest, size, diff_id). The headers
    are made by hand: tarfile takes a minute for a million entries, this a few seconds."""
    tmp = os.path.join(blob_dir(out), "tmp-layer")
    with open(tmp, "wb") as raw:
        comp = Hashing(raw)
        gz = gzip.GzipFile(fileobj=comp, mode="wb", compresslevel=1, mtime=0)
        plain = Hashing(gz)
        for d in range((n + 999) // 1000):
            buf = [ustar_header(b"many/d%04d/" % d, b"5", 0o755)]
            for i in range(min(1000, n - d * 1000)):
                buf.append(ustar_header(b"many/d%04d/f%04d" % (d, i), b"0", 0o644))
            plain.write(b"".join(buf))
        plain.write(bytes(1024))
        gz.close()
    return finish_layer(out, tmp, comp, plain)


class Random:
    """n bytes from a seeded generator, read in chunks."""

    def __init__(self, n):
        self.left, self.rng = n, random.Random(19)

    def read(self, k):
        k = min(k, self.left)
        self.left -= k
        return self.rng.randbytes(k)


def layer_bytes(out, n):
    """tar of one file of n pseudo-random bytes: returns (digest, size, diff_id)."""
    tmp = os.path.join(blob_dir(out), "tmp-layer")
    with open(tmp, "wb") as raw:
        plain = Hashing(raw)
        with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK) as tar:
            ti = tarfile.TarInfo("big/data")
            ti.size, ti.mode = n, 0o644
            tar.addfile(ti, Random(n))
    return finish_layer(out, tmp, plain, plain)


def finish_layer(out, tmp, comp, plain):
    digest = "sha256:" + comp.h.hexdigest()
    os.rename(tmp, os.path.join(blob_dir(out), digest.split(":", 1)[1]))
    return digest, comp.n, "sha256:" + plain.h.hexdigest()


def main():
    if len(sys.argv) != 5 or sys.argv[3] not in ("files", "bytes"):
        sys.exit("usage: big-layer-image.py FIXTURE_LAYOUT OUT_LAYOUT files|bytes N")
    src, out, kind, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(os.path.join(src, "index.json")) as f:
        index = json.load(f)
    base = next(m for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "busybox:1.35")
    manifest = json.loads(read_blob(src, base["digest"]))
    config = json.loads(read_blob(src, manifest["config"]["digest"]))
    os.makedirs(out, exist_ok=True)
    for layer in manifest["layers"]:
        put_blob(out, read_blob(src, layer["digest"]))

    if kind == "files":
        digest, size, diff_id = layer_files(out, n)
        media = "application/vnd.oci.image.layer.v1.tar+gzip"
    else:
        digest, size, diff_id = layer_bytes(out, n)
        media = "application/vnd.oci.image.layer.v1.tar"
    manifest["layers"].append({"mediaType": media, "digest": digest, "size": size})
    config["rootfs"]["diff_ids"].append(diff_id)
    config.pop("history", None)
    cdigest, csize = put_blob(out, json.dumps(config).encode())
    manifest["config"] = {"mediaType": manifest["config"]["mediaType"], "digest": cdigest, "size": csize}
    mdigest, msize = put_blob(out, json.dumps(manifest).encode())
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest, "size": msize,
            "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)


if __name__ == "__main__":
    main()
