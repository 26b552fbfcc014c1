"""A stateful fake of AWS APIs for deploybot's tests (see tests/fakes/README.md).

Layout: server.py (HTTP, routing by the SigV4 credential scope, admin
endpoints), sigv4.py (signature check), model.py (botocore's service
models), ec2query.py (the EC2 wire protocol), and one package per service
(ec2/) whose handlers take and return plain dicts keyed like boto3's.
"""
