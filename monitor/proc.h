/* Socket inode -> owning processes, from one pass over /proc/[pid]/fd. */
#ifndef SW_PROC_H
#define SW_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_COMM_MAX 16

struct proc_owner {
	pid_t pid;
	int fd;
	const char *comm;		/* valid while the map lives */
};

struct procmap;

/* Walk root ("/proc" normally) once. Processes whose fd directory cannot
 * be read for lack of privilege are counted, not fatal. 0 or -errno. */
int procmap_build(const char *root, struct procmap **ret_map);
void procmap_free(struct procmap *pm);

/* A map filled from elsewhere (the BPF task_file iterator): new, then
 * add_fd for every socket descriptor, each process's together, then
 * finish before any lookup. comm is taken up to PROC_COMM_MAX - 1 bytes
 * on a process's first descriptor. 0 or -errno. */
int procmap_new(struct procmap **ret_map);
int procmap_add_fd(struct procmap *pm, uint32_t inode, pid_t pid, int fd,
    const char *comm);
int procmap_finish(struct procmap *pm);

/* Fill up to max owners of the socket with this inode, one per process
 * (its lowest fd), by ascending pid; returns how many processes hold it
 * (may exceed max). */
size_t procmap_lookup(const struct procmap *pm, uint32_t inode,
    struct proc_owner *ret_owners, size_t max);

/* How many processes could not be inspected (EACCES/EPERM). */
size_t procmap_denied(const struct procmap *pm);
/* How many socket file descriptors were found. */
size_t procmap_count(const struct procmap *pm);

/* When process pid started (UTC ms), from root/PID/stat and root/stat.
 * 0 or -errno. */
int proc_start_time_ms(const char *root, pid_t pid, int64_t *ret_ms);

#endif
