import Crypto
import Foundation
import Testing

@testable import App

/// AWS Signature Version 4 against AWS's published examples: the signature test suite
/// (`aws-sig-v4-test-suite`: credentials AKIDEXAMPLE, service `service`, 2015-08-30T12:36:00Z)
/// and the worked examples of the S3 API reference ("Signature Calculations for the
/// Authorization Header").
@Suite("SigV4 signer")
struct SigV4Tests {
    let suite = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)
    let s3 = AWSCredentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    let s3Date = Date(timeIntervalSince1970: 1_369_353_600)
    let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    private func authorization(
        _ credentials: AWSCredentials, service: String, date: Date, method: String, url: String,
        headers: [(String, String)] = [], payload: [UInt8] = []
    ) -> String? {
        let signer = AWSSigner(credentials: credentials, region: "us-east-1", service: service)
        return signer.sign(method: method, url: URL(string: url)!, headers: headers, payload: payload, date: date)
            .first { $0.0 == "authorization" }?.1
    }

    @Test(
        "the signature test suite's vectors",
        arguments: [
            (
                "GET", "https://example.amazonaws.com/",
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
            ),
            (
                "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1",
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
            ),
            (
                "POST", "https://example.amazonaws.com/",
                "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
            ),
        ])
    func suiteVectors(method: String, url: String, signature: String) {
        #expect(
            authorization(suite, service: "service", date: suiteDate, method: method, url: url)
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, Signature=\(signature)")
    }

    @Test("S3's GET Object example: extra signed headers, sorted")
    func s3GetObject() {
        #expect(
            authorization(
                s3, service: "s3", date: s3Date, method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt",
                headers: [("Range", "bytes=0-9"), ("x-amz-content-sha256", emptyHash)])
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test("S3's PUT Object example: a payload, an encoded key and a Date header")
    func s3PutObject() {
        let payload = Array("Welcome to Amazon S3.".utf8)
        #expect(
            authorization(
                s3, service: "s3", date: s3Date, method: "PUT",
                url: "https://examplebucket.s3.amazonaws.com/test%24file.text",
                headers: [
                    ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                    ("x-amz-content-sha256", SHA256.hash(data: payload).hex),
                ],
                payload: payload)
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
                + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test("S3's list-objects example: query parameters sorted and encoded")
    func s3ListObjects() {
        #expect(
            authorization(
                s3, service: "s3", date: s3Date, method: "GET",
                url: "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
                headers: [("x-amz-content-sha256", emptyHash)])?.hasSuffix(
                    "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") == true)
    }

    @Test("temporary credentials add and sign x-amz-security-token")
    func sessionToken() {
        var credentials = suite
        credentials.sessionToken = "session-token"
        let headers = AWSSigner(credentials: credentials, region: "us-east-1", service: "ses")
            .sign(
                method: "POST", url: URL(string: "https://email.us-east-1.amazonaws.com/v2/email/outbound-emails")!,
                headers: [], payload: [], date: suiteDate)
        #expect(headers.contains { $0 == ("x-amz-security-token", "session-token") })
        #expect(
            headers.first { $0.0 == "authorization" }?.1.contains("SignedHeaders=host;x-amz-date;x-amz-security-token")
                == true)
    }
}
