/* libFuzzer: the verbs file and config file loaders. */
#include <stdint.h>
#include <string.h>

#include "../livd/config.h"
#include "../livd/verbs.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct yamlerr yerr = { err, sizeof err };
	struct verbs *vs;
	struct config cfg;

	if ((vs = verbs_parse("fuzz.yaml", (const char *)data, size, &yerr)))
		verbs_free(vs);
	config_defaults(&cfg);
	config_parse(&cfg, "fuzz.yaml", (const char *)data, size, &yerr);
	config_free(&cfg);
	return 0;
}
