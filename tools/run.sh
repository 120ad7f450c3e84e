#!/bin/sh
# make run: start livd in the foreground with the demo page and say what
# to open and what to try. Ctrl-C stops it.
cd "$(dirname "$0")/.." || exit 1
listen=${LISTEN:-127.0.0.1:8088}
build/livd -l "$listen" "$@" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null' INT TERM
i=0
until build/livctl status >/dev/null 2>&1; do
	if ! kill -0 $pid 2>/dev/null; then
		wait $pid
		echo "livd did not start (see above)" >&2
		exit 1
	fi
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "livd does not answer" >&2; kill $pid; exit 1; }
	sleep 0.05
done
url=http://$(build/livctl status | sed -n 's/^listen: //p')
cat <<MSG

  livd is running.  Open the demo in a browser (two tabs to see it live):

      $url/demo/room

  and send it an event from a shell:

      build/livctl send -l /demo/room append target '<p>hello from livctl</p>'

  More: build/livctl who /demo/room, build/livctl status, man man/livctl.1
  Stop with Ctrl-C.

MSG
wait $pid
