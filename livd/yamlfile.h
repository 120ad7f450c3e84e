/* A YAML file loaded with libyaml, with errors that name FILE:LINE. */
#ifndef LIVD_YAMLFILE_H
#define LIVD_YAMLFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

struct yamlfile {
	const char	*path;
	yaml_document_t	 doc;
	bool		 loaded;
};

/* Where an error message is written: "FILE:LINE: message". */
struct yamlerr {
	char	*text;
	size_t	 size;
};

int		 yamlfile_load(struct yamlfile *, const char *,
		    const char *, size_t, struct yamlerr *);
struct buf;
int		 yamlfile_slurp(const char *, struct buf *, struct yamlerr *);
int		 yamlfile_read(struct yamlfile *, const char *, struct yamlerr *);
void		 yamlfile_free(struct yamlfile *);
yaml_node_t	*yamlfile_root(struct yamlfile *);
yaml_node_t	*yamlfile_node(struct yamlfile *, int);
int		 yamlfile_line(const yaml_node_t *);
const char	*yamlfile_scalar(const yaml_node_t *);
int		 yamlfile_error(struct yamlfile *, const yaml_node_t *,
		    struct yamlerr *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
int		 yamlfile_bool(struct yamlfile *, yaml_node_t *, bool *,
		    struct yamlerr *);

#endif
