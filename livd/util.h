/* Small helpers shared by livd and livctl: memory, byte buffers, text. */
#ifndef LIVD_UTIL_H
#define LIVD_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#define LIVD_VERSION "0.1.0"

/* glibc's sys/queue.h lacks the safe iterator. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define countof(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer; data is always NUL-terminated. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reserve(struct buf *, size_t);
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_adds(struct buf *, const char *);
void	 buf_addc(struct buf *, char);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_json_string(struct buf *, const char *, size_t);
void	 buf_json_strings(struct buf *, const char *const *, size_t);
void	 buf_json_unescape(struct buf *, const char *, size_t);
void	 buf_error(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
char	*buf_steal(struct buf *);

/* Bytes shared by reference count, such as one encoded answer. */
struct blob {
	unsigned	refs;
	size_t		len;
	char		data[];
};

struct blob	*blob_new(const void *, size_t);
struct blob	*blob_ref(struct blob *);
void		 blob_unref(struct blob *);

double	 now_mono(void);
double	 now_wall(void);

bool	 utf8_valid(const char *, size_t);
long	 hex4(const char *, const char *);
char	*html_escape(const char *);
bool	 word_valid(const char *, size_t);
int	 parse_seconds(const char *, double *);
double	 backoff_next(double, double, double);
void	 quote_for_error(char *, size_t, const char *);

void	 hash_init(uint64_t);
uint64_t hash_bytes(const void *, size_t);

const char *socket_default(char *, size_t);

#endif
