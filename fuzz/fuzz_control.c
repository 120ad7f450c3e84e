/*
 * libFuzzer: the control protocol, through a real control connection.
 * Each input is written to one end of a socketpair whose other end livd
 * serves (control_adopt); the loop runs until the answers stop coming.
 * The hub, verbs and config are livd's own, so commands really run.
 * Each line flatjson reads must also be jansson's reading of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "../livd/util.h"
#include "../livd/control.h"
#include "../livd/hub.h"
#include "../livd/livd.h"
#include "../livd/verbs.h"
#include "../tests/unit/flatcheck.h"

static void
setup(void)
{
	char err[512];
	struct yamlerr yerr = { err, sizeof err };

	config_defaults(&livd.cfg);
	livd.cfg.verbs = xstrdup("share/livd/verbs.yaml");
	livd.cfg.socket = xstrdup("/nonexistent/fuzz.sock");
	livd.listen_name = xstrdup("127.0.0.1:0");
	livd.cfg.max_line = 4096;
	if ((livd.verbs = verbs_load(livd.cfg.verbs, &yerr)) == NULL)
		abort();
	livd.base = event_base_new();
	hub_init(livd.base, 1000, 0.01);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	char answers[65536];
	int sv[2];

	if (!ready) {
		setup();
		ready = true;
	}
	/* Each line that flatjson takes, jansson reads the same. */
	for (size_t at = 0, end; at < size; at = end + 1) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		bool taken;

		end = nl != NULL ? (size_t)(nl - data) : size;
		if (!flat_agrees((const char *)data + at, end - at, &taken))
			abort();
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
		abort();
	control_adopt(sv[0]);
	if (write(sv[1], data, size) < 0 && errno != EAGAIN)
		abort();
	shutdown(sv[1], SHUT_WR);
	for (int i = 0; i < 20; i++) {
		event_base_loop(livd.base, EVLOOP_NONBLOCK);
		while (read(sv[1], answers, sizeof answers) > 0)
			;
	}
	close(sv[1]);
	event_base_loop(livd.base, EVLOOP_NONBLOCK);
	return 0;
}
