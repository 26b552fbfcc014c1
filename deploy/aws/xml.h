/* xml: a small, strict reader for AWS API responses (Query/EC2 and REST-XML).
 *
 * Parses a whole document into a tree. Supports elements, attributes (kept but
 * rarely needed), text with the five predefined entities and numeric character
 * references, CDATA, comments and the XML declaration. Namespace prefixes are
 * dropped: element names are matched on their local name. DOCTYPE is refused
 * (AWS never sends one, and it is how entity-expansion attacks start). */
#ifndef DEPLOYBOT_DEPLOY_AWS_XML_H
#define DEPLOYBOT_DEPLOY_AWS_XML_H

#include <stddef.h>
#include "util/errinfo.h"

typedef struct xml_node xml_node;
struct xml_node {
    char *name; /* local name, without namespace prefix */
    char *text; /* concatenated text content, entity-decoded ("" if none);
                            whitespace-only text between child elements is dropped */
    xml_node *parent;
    xml_node *first_child;
    xml_node *next; /* next sibling */
    char **attrs;   /* name, value, name, value, ..., NULL; NULL when none */
};

/* NULL on malformed input, with line and reason in err (ERR_INVALID,
 * "xml line 3: ..."). */
xml_node *xml_parse(const char *buf, size_t len, errinfo *err);
void xml_free(xml_node *root);

/* First child element named `name`, or NULL. */
xml_node *xml_child(const xml_node *n, const char *name);
/* Next sibling after `n` with the same name, or NULL. */
xml_node *xml_next_same(const xml_node *n);
/* Follows a '/'-separated path of child names: xml_path(root, "vpcSet/item"). */
xml_node *xml_path(const xml_node *n, const char *path);
/* Text of the child at `path`, or NULL when absent. */
const char *xml_path_text(const xml_node *n, const char *path);
/* Value of attribute `name` (matched on its local name too), or NULL. */
const char *xml_attr(const xml_node *n, const char *name);

#endif
