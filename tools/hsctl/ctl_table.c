/*  ctl_table.c: column alignment, a port of Go's text/tabwriter.
 *
 *  kubectl prints `get` tables and `describe` text through tabwriter; porting
 *  its block rule (a column is aligned over a run of consecutive lines that
 *  have that cell) makes our alignment identical rather than approximately so.
 */
#include "ctl_fmt.h"

#include <string.h>

typedef struct {
    const char *text;
    size_t len;
    size_t width; /* display width: UTF-8 code points */
} s_cell_t;

typedef struct {
    s_cell_t *cells;
    size_t n;
} s_line_t;

typedef struct {
    s_line_t *lines;
    size_t n_lines;
    size_t *widths;
    size_t n_widths;
    int minwidth;
    int padding;
    hs_buf_t out;
} s_writer_t;

static size_t s_width (const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) w++;
    return w;
}

static void s_write_lines (s_writer_t *self, size_t line0, size_t line1)
{
    for (size_t i = line0; i < line1; i++) {
        const s_line_t *l = &self->lines[i];
        for (size_t j = 0; j < l->n; j++) {
            const s_cell_t *c = &l->cells[j];
            hs_buf_append (&self->out, c->text, c->len);
            if (j < self->n_widths)
                for (size_t k = c->width; k < self->widths[j]; k++)
                    hs_buf_append (&self->out, " ", 1);
        }
        hs_buf_append (&self->out, "\n", 1);
    }
}

static void s_format (s_writer_t *self, size_t line0, size_t line1)
{
    size_t column = self->n_widths;
    for (size_t this = line0; this < line1; this ++) {
        if (column + 1 >= self->lines[this].n) continue;
        /* a cell exists in this column: a block begins */
        s_write_lines (self, line0, this);
        line0 = this;
        size_t width = (size_t)self->minwidth;
        for (; this < line1; this ++) {
            const s_line_t *l = &self->lines[this];
            if (column + 1 >= l->n) break;
            size_t w = l->cells[column].width + (size_t)self->padding;
            if (w > width) width = w;
        }
        self->widths[self->n_widths++] = width;
        s_format (self, line0, this);
        self->n_widths--;
        line0 = this;
    }
    s_write_lines (self, line0, line1);
}

char *ctl_tabwrite (const char *text, int minwidth, int padding)
{
    s_writer_t self = {.minwidth = minwidth, .padding = padding};
    size_t max_cells = 1;
    /* split into lines and cells (pointers into text) */
    const char *p = text;
    while (*p) {
        const char *nl = strchr (p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen (p);
        self.lines = hs_realloc (self.lines, (self.n_lines + 1) * sizeof (s_line_t));
        s_line_t *l = &self.lines[self.n_lines++];
        l->cells = NULL;
        l->n = 0;
        size_t start = 0;
        for (size_t i = 0; i <= len; i++) {
            if (i < len && p[i] != '\t') continue;
            l->cells = hs_realloc (l->cells, (l->n + 1) * sizeof (s_cell_t));
            l->cells[l->n++] = (s_cell_t){p + start, i - start, s_width (p + start, i - start)};
            start = i + 1;
        }
        if (l->n > max_cells) max_cells = l->n;
        p += len;
        if (*p == '\n') p++;
    }
    self.widths = hs_calloc (max_cells, sizeof (size_t));
    s_format (&self, 0, self.n_lines);
    for (size_t i = 0; i < self.n_lines; i++) free (self.lines[i].cells);
    free (self.lines);
    free (self.widths);
    if (!self.out.data) return hs_strdup ("");
    return hs_buf_take (&self.out);
}

void ctl_row_append (hs_buf_t *b, char *const *cells, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i) hs_buf_append (b, "\t", 1);
        for (const char *s = hs_s (cells[i]); *s; s++) {
            char ch = (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s;
            hs_buf_append (b, &ch, 1);
        }
    }
    hs_buf_append (b, "\n", 1);
}

/* ------------------------------------------------------------ tables printed piecemeal */

struct ctl_stream_table {
    bool has_header;
    bool header_done;
    char **widest; /* per column, the widest cell seen so far */
    size_t n;
};

ctl_stream_table_t *ctl_stream_table_new (bool has_header)
{
    ctl_stream_table_t *self = hs_calloc (1, sizeof *self);
    self->has_header = has_header;
    return self;
}

void ctl_stream_table_destroy (ctl_stream_table_t **self_p)
{
    if (!self_p || !*self_p) return;
    ctl_stream_table_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++) free (self->widest[i]);
    free (self->widest);
    free (self);
    *self_p = NULL;
}

/* Skips n lines of s. */
static const char *s_skip_lines (const char *s, size_t n)
{
    while (n-- && *s) {
        const char *nl = strchr (s, '\n');
        s = nl ? nl + 1 : s + strlen (s);
    }
    return s;
}

char *ctl_stream_table_feed (ctl_stream_table_t *self, const char *text)
{
    /* remember the widest cell of every column */
    for (const char *p = text; *p;) {
        size_t len = strcspn (p, "\n");
        size_t col = 0, start = 0;
        for (size_t i = 0; i <= len; i++) {
            if (i < len && p[i] != '\t') continue;
            if (col >= self->n) {
                self->widest = hs_realloc (self->widest, (col + 1) * sizeof (char *));
                self->widest[self->n++] = hs_strdup ("");
            }
            if (s_width (p + start, i - start) >
                s_width (self->widest[col], strlen (self->widest[col]))) {
                free (self->widest[col]);
                self->widest[col] = hs_strndup (p + start, i - start);
            }
            col++;
            start = i + 1;
        }
        p += len;
        if (*p == '\n') p++;
    }
    /* align against a line of the widest cells, then drop it (and a repeated header) */
    hs_buf_t b = {0};
    for (size_t i = 0; i < self->n; i++) hs_buf_printf (&b, "%s%s", i ? "\t" : "", self->widest[i]);
    hs_buf_printf (&b, "\n%s", text);
    _cleanup_free_ char *ctx = hs_buf_take (&b);
    _cleanup_free_ char *aligned = ctl_tabwrite (ctx, 6, 3);
    size_t skip = 1 + (self->has_header && self->header_done ? 1 : 0);
    self->header_done = true;
    return hs_strdup (s_skip_lines (aligned, skip));
}
