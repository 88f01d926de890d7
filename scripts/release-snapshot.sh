#!/usr/bin/env bash
# release-snapshot.sh: builds the release archives as a release would (.goreleaser.yaml,
# goreleaser run as a Go tool at the version below), without a tag and without publishing,
# into dist/, then checks them: one archive per system (linux and windows, amd64 and
# arm64) holding the binary, the README and deploy/, and checksums.txt whose SHA-256
# sums match. Not in CI: its first run downloads and compiles goreleaser and builds the four
# targets (945 s on a busy 2-CPU machine); with nothing changed since, a run took 16 s.
set -euo pipefail
cd "$(dirname "$0")/.."
# The newest goreleaser that builds with Go 1.26, this module's Go (v2.18 needs Go 1.27).
goreleaser=github.com/goreleaser/goreleaser/v2@v2.17.0

go run "$goreleaser" check
go run "$goreleaser" release --snapshot --clean

cd dist
sums=$(ls authtriage_*_checksums.txt)
sha256sum --check --strict "$sums"
version=${sums#authtriage_}
version=${version%_checksums.txt}
for target in linux_amd64 linux_arm64 windows_amd64 windows_arm64; do
	case $target in
	windows_*) archive=authtriage_${version}_$target.zip; list=(unzip -Z1 "$archive"); bin=authtriage.exe ;;
	*) archive=authtriage_${version}_$target.tar.gz; list=(tar -tzf "$archive"); bin=authtriage ;;
	esac
	[ -f "$archive" ] || { echo "release-snapshot: $archive is missing" >&2; exit 1; }
	grep -q " $archive\$" "$sums" || { echo "release-snapshot: $archive has no checksum" >&2; exit 1; }
	files=$("${list[@]}")
	for want in "$bin" README.md deploy/authtriage-agent.service deploy/agent.example.yaml; do
		grep -qx "$want" <<<"$files" || { echo "release-snapshot: $archive lacks $want" >&2; exit 1; }
	done
done
if command -v file >/dev/null; then
	file authtriage_linux_amd64*/authtriage | grep -q 'statically linked' ||
		{ echo "release-snapshot: the linux/amd64 binary is not static" >&2; exit 1; }
fi
echo "release-snapshot: ok: $(ls authtriage_"$version"_* | tr '\n' ' ')"
