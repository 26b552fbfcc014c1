/* test_xml: the XML reader on the shapes AWS sends (EC2 Query responses,
 * Query and REST-XML errors, Route53 REST-XML) and on malformed input. The
 * samples follow the examples in the EC2, ELBv2 and Route53 API references. */
#include "deploy/aws/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

static xml_node *parse(const char *s) {
    errinfo err;
    xml_node *n = xml_parse(s, strlen(s), &err);
    if (!n) fprintf(stderr, "unexpected parse error: %s\n", err.msg);
    return n;
}

static const char describe_vpcs[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
    "    <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>\n"
    "    <vpcSet>\n"
    "        <item>\n"
    "            <vpcId>vpc-1a2b3c4d</vpcId>\n"
    "            <ownerId>123456789012</ownerId>\n"
    "            <state>available</state>\n"
    "            <cidrBlock>10.0.0.0/16</cidrBlock>\n"
    "            <cidrBlockAssociationSet>\n"
    "                <item>\n"
    "                    <cidrBlock>10.0.0.0/16</cidrBlock>\n"
    "                    <associationId>vpc-cidr-assoc-1a2b3c4d</associationId>\n"
    "                    <cidrBlockState>\n"
    "                        <state>associated</state>\n"
    "                    </cidrBlockState>\n"
    "                </item>\n"
    "            </cidrBlockAssociationSet>\n"
    "            <dhcpOptionsId>dopt-7a8b9c2d</dhcpOptionsId>\n"
    "            <tagSet>\n"
    "                <item>\n"
    "                    <key>deploybot:stack</key>\n"
    "                    <value>prd</value>\n"
    "                </item>\n"
    "                <item>\n"
    "                    <key>Name</key>\n"
    "                    <value>Dify &amp; friends</value>\n"
    "                </item>\n"
    "            </tagSet>\n"
    "            <instanceTenancy>default</instanceTenancy>\n"
    "            <isDefault>false</isDefault>\n"
    "        </item>\n"
    "        <item>\n"
    "            <vpcId>vpc-5e6f7a8b</vpcId>\n"
    "            <state>pending</state>\n"
    "            <cidrBlock>172.31.0.0/16</cidrBlock>\n"
    "            <tagSet/>\n"
    "            <isDefault>true</isDefault>\n"
    "        </item>\n"
    "    </vpcSet>\n"
    "</DescribeVpcsResponse>\n";

static void test_describe_vpcs(void) {
    xml_node *root = parse(describe_vpcs);
    CHECK(root != NULL);
    if (!root) return;
    CHECK_STR(root->name, "DescribeVpcsResponse");
    CHECK_STR(root->text, "");
    CHECK_STR(xml_attr(root, "xmlns"), "http://ec2.amazonaws.com/doc/2016-11-15/");
    CHECK_STR(xml_path_text(root, "requestId"), "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");

    xml_node *item = xml_path(root, "vpcSet/item");
    CHECK(item && item->parent && strcmp(item->parent->name, "vpcSet") == 0);
    CHECK_STR(xml_path_text(item, "vpcId"), "vpc-1a2b3c4d");
    CHECK_STR(xml_path_text(item, "cidrBlockAssociationSet/item/cidrBlockState/state"), "associated");
    CHECK_STR(xml_path_text(item, "isDefault"), "false");
    CHECK(xml_path_text(item, "noSuchElement") == NULL);
    CHECK(xml_path(item, "tagSet/item/nope") == NULL);

    /* Tags: iterate items, find Name. */
    const char *name = NULL;
    int tags = 0;
    for (xml_node *t = xml_path(item, "tagSet/item"); t; t = xml_next_same(t), tags++)
        if (strcmp(xml_path_text(t, "key"), "Name") == 0) name = xml_path_text(t, "value");
    CHECK(tags == 2);
    CHECK_STR(name, "Dify & friends");

    xml_node *second = xml_next_same(item);
    CHECK(second != NULL);
    CHECK_STR(xml_path_text(second, "vpcId"), "vpc-5e6f7a8b");
    CHECK(xml_path(second, "tagSet") && xml_path(second, "tagSet")->first_child == NULL);
    CHECK_STR(xml_path_text(second, "tagSet"), "");
    CHECK(xml_next_same(second) == NULL);
    xml_free(root);
}

static void test_error_shapes(void) {
    /* EC2 ("Error responses" in the EC2 API reference). */
    xml_node *ec2 = parse(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code>"
        "<Message>The vpc ID 'vpc-12345678' does not exist</Message></Error></Errors>"
        "<RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>");
    CHECK(ec2 != NULL);
    CHECK_STR(xml_path_text(ec2, "Errors/Error/Code"), "InvalidVpcID.NotFound");
    CHECK_STR(xml_path_text(ec2, "Errors/Error/Message"), "The vpc ID 'vpc-12345678' does not exist");
    CHECK_STR(xml_path_text(ec2, "RequestID"), "ea966190-f9aa-478e-9ede-example");
    xml_free(ec2);

    /* ELBv2 / IAM (other Query services). */
    xml_node *elb = parse(
        "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">\n"
        "  <Error>\n    <Type>Sender</Type>\n    <Code>LoadBalancerNotFound</Code>\n"
        "    <Message>One or more load balancers not found</Message>\n  </Error>\n"
        "  <RequestId>c1d5e5d2-7ad8-11e5-8b5a-EXAMPLE</RequestId>\n</ErrorResponse>\n");
    CHECK(elb != NULL);
    CHECK_STR(xml_path_text(elb, "Error/Code"), "LoadBalancerNotFound");
    CHECK_STR(xml_path_text(elb, "Error/Type"), "Sender");
    xml_free(elb);
}

/* Route53 is REST-XML; some producers prefix every element. */
static void test_route53_and_prefixes(void) {
    xml_node *r = parse(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
        "<r53:ListResourceRecordSetsResponse xmlns:r53=\"https://route53.amazonaws.com/doc/2013-04-01/\">\r\n"
        "  <r53:ResourceRecordSets>\r\n"
        "    <r53:ResourceRecordSet>\r\n"
        "      <r53:Name>dify.example.com.</r53:Name>\r\n"
        "      <r53:Type>A</r53:Type>\r\n"
        "      <r53:AliasTarget><r53:HostedZoneId>Z35SXDOTRQ7X7K</r53:HostedZoneId>"
        "<r53:DNSName>dualstack.prd-alb-123.us-east-1.elb.amazonaws.com.</r53:DNSName>"
        "<r53:EvaluateTargetHealth>false</r53:EvaluateTargetHealth></r53:AliasTarget>\r\n"
        "    </r53:ResourceRecordSet>\r\n"
        "  </r53:ResourceRecordSets>\r\n"
        "  <r53:IsTruncated>false</r53:IsTruncated>\r\n"
        "  <r53:MaxItems xsi:nil=\"false\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">100</r53:MaxItems>\r\n"
        "</r53:ListResourceRecordSetsResponse >\r\n");
    CHECK(r != NULL);
    if (!r) return;
    CHECK_STR(r->name, "ListResourceRecordSetsResponse");
    CHECK_STR(xml_path_text(r, "ResourceRecordSets/ResourceRecordSet/AliasTarget/HostedZoneId"),
              "Z35SXDOTRQ7X7K");
    CHECK_STR(xml_path_text(r, "IsTruncated"), "false");
    xml_node *mi = xml_child(r, "MaxItems");
    CHECK_STR(xml_attr(mi, "nil"), "false");
    CHECK_STR(xml_attr(mi, "xsi:nil"), "false");
    CHECK(xml_attr(mi, "missing") == NULL);
    CHECK_STR(xml_attr(r, "r53"), "https://route53.amazonaws.com/doc/2013-04-01/");
    xml_free(r);
}

static void test_text_decoding(void) {
    xml_node *n = parse("<a>&lt;&gt;&amp;&quot;&apos; &#65;&#x42;&#x20AC;&#128512;</a>");
    CHECK(n != NULL);
    CHECK_STR(n ? n->text : NULL, "<>&\"' AB\xE2\x82\xAC\xF0\x9F\x98\x80");
    xml_free(n);

    n = parse("<a>x<!-- a comment -->y<![CDATA[<not> & a tag]]>z<?pi data?></a>");
    CHECK_STR(n ? n->text : NULL, "xy<not> & a tagz");
    xml_free(n);

    n = parse("<a>line1\r\nline2\rline3&#13;</a>");
    CHECK_STR(n ? n->text : NULL, "line1\nline2\nline3\r");
    xml_free(n);

    n = parse("<a k=\"1&amp;2\" q='say \"hi\"' w=\"a\tb\nc\">  leaf keeps spaces  </a>");
    CHECK_STR(xml_attr(n, "k"), "1&2");
    CHECK_STR(xml_attr(n, "q"), "say \"hi\"");
    CHECK_STR(xml_attr(n, "w"), "a b c");
    CHECK_STR(n ? n->text : NULL, "  leaf keeps spaces  ");
    xml_free(n);

    /* BOM, trailing misc, and a buffer that is not NUL-terminated. */
    n = parse("\xEF\xBB\xBF<a/>\n<!-- bye -->\n");
    CHECK(n && strcmp(n->name, "a") == 0 && n->attrs == NULL);
    xml_free(n);
    n = xml_parse("<a>x</a>GARBAGE", 8, NULL);
    CHECK_STR(n ? n->text : NULL, "x");
    xml_free(n);
}

static void test_malformed(void) {
    static const struct { const char *doc, *reason; } bad[] = {
        {"", "empty document"},
        {"   \n", "empty document"},
        {"<a>", "ends inside <a>"},
        {"<a></b>", "does not match"},
        {"<a><b></a></b>", "does not match"},
        {"<a></ab>", "does not match"},
        {"<a>&foo;</a>", "unknown entity"},
        {"<a>fish & chips</a>", "'&'"},
        {"<a>&#0;</a>", "not an XML character"},
        {"<a>&#xD800;</a>", "not an XML character"},
        {"<a>&#x110000;</a>", "not an XML character"},
        {"<a>&#xZZ;</a>", "bad character reference"},
        {"<a x='1' x='2'/>", "duplicate attribute"},
        {"<a x=1/>", "quoted"},
        {"<a x/>", "expected '='"},
        {"<a x='1'y='2'/>", "whitespace"},
        {"<a b='<'/>", "'<'"},
        {"<a/><b/>", "after the root"},
        {"<a/>tail", "after the root"},
        {"text<a/>", "before the root"},
        {"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", "DOCTYPE"},
        {"<a><!DOCTYPE a></a>", "'<!'"},
        {"<a><!-- x -- y --></a>", "'--'"},
        {"<a><!-- x </a>", "unterminated comment"},
        {"<a>\x01</a>", "control character"},
        {" <?xml version='1.0'?><a/>", "must come first"},
        {"<a><![CDATA[x</a>", "unterminated CDATA"},
        {"<a>]]></a>", "']]>'"},
        {"<:a/>", "bad element name"},
        {"<a:/>", "bad element name"},
        {"<1a/>", "expected element name"},
        {"<a", "unterminated start tag"},
        {"<a attr='x", "unterminated attribute"},
    };
    errinfo err;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errinfo_clear(&err);
        xml_node *n = xml_parse(bad[i].doc, strlen(bad[i].doc), &err);
        int ok = n == NULL && strstr(err.msg, bad[i].reason) && strncmp(err.msg, "xml line ", 9) == 0;
        CHECK(ok);
        if (!ok) fprintf(stderr, "  input %s -> %s\n", bad[i].doc, n ? "parsed" : err.msg);
        xml_free(n);
    }

    /* The line number points at the problem. */
    const char *doc = "<a>\n  <b>\n  </c>\n</a>";
    CHECK(xml_parse(doc, strlen(doc), &err) == NULL);
    CHECK(strncmp(err.msg, "xml line 3:", 11) == 0);

    /* Deep nesting is refused rather than recursed into. */
    size_t depth = 1000, len = depth * 7 + 1;
    char *deep = malloc(len), *p = deep;
    for (size_t i = 0; i < depth; i++) p += sprintf(p, "<a>");
    for (size_t i = 0; i < depth; i++) p += sprintf(p, "</a>");
    CHECK(xml_parse(deep, (size_t)(p - deep), &err) == NULL);
    CHECK(strstr(err.msg, "nested deeper") != NULL);
    free(deep);

    /* A NULL errinfo is fine. */
    CHECK(xml_parse("<a>", 3, NULL) == NULL);
    CHECK(xml_parse("<a>", 3, &err) == NULL && strlen(err.msg) < sizeof err.msg);
    CHECK(xml_parse(NULL, 0, &err) == NULL);
}

static void test_null_safety(void) {
    CHECK(xml_child(NULL, "a") == NULL);
    CHECK(xml_next_same(NULL) == NULL);
    CHECK(xml_path(NULL, "a/b") == NULL);
    CHECK(xml_path_text(NULL, "a") == NULL);
    CHECK(xml_attr(NULL, "a") == NULL);
    xml_free(NULL);
    xml_node *n = parse("<a><b>1</b></a>");
    CHECK(xml_path(n, "") == n);
    CHECK_STR(xml_path_text(n, "/b/"), "1");
    xml_free(n);
}

int main(void) {
    test_describe_vpcs();
    test_error_shapes();
    test_route53_and_prefixes();
    test_text_decoding();
    test_malformed();
    test_null_safety();
    return CHECK_DONE();
}
