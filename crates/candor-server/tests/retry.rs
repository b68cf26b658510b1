//! "Answer this again" from outside, over HTTP and the session socket of a
//! real server: a practice interview runs to its results, one of its
//! questions is answered again in an interview of its own that asks only
//! that question, and both interviews' results list every attempt at it.
//! Also who may retry what, and what deleting the first interview leaves.

mod common;

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use candor_api::{
    Attempt, CreateInterviewRequest, Feedback, Interview, InterviewPage, InterviewStatus,
    ResultsResponse, RetryOf, RetryTarget, Role, Seniority, Speaker,
};
use candor_protocol::{EndReason, InterviewerActivity, ServerPayload};
use candor_server::{RunningServer, Server};
use common::*;
use serde_json::Value;

/// What the candidate says to every question: long enough to be an answer.
const ANSWER: &str = "I led the migration of our billing system to a new database.";

/// A practice server that asks no follow-up (the candidate's words are not
/// recognised, and no answer counts as short), speaks fast, and lets a user
/// create three interviews.
async fn server(dir: &std::path::Path) -> RunningServer {
    let mut config = fast_config(dir);
    config.practice.short_answer = Duration::ZERO;
    config.practice.words_per_minute = 450;
    config.limits.max_interviews_per_user = 3;
    Server::start(config).await.expect("server starts")
}

/// Runs the interview's session to its end, answering each question the
/// interviewer listens for, and returns its feedback. Checks that the
/// session plans `planned` questions and completes.
async fn run_interview(
    server: &RunningServer,
    token: &str,
    interview: &Interview,
    planned: u32,
) -> Feedback {
    // The answer, then half a second of silence.
    let mut answer = speech_frames(ANSWER);
    answer.extend(silence_frames(25));
    let silence = silence_frames(1).remove(0);
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(token, &interview.id)).await;
    let msg = recv(&mut ws).await.expect("a StartResponse");
    let Some(ServerPayload::StartResponse(started)) = msg.payload else {
        panic!("{msg:?}")
    };
    assert_eq!(started.planned_questions, planned);
    let mut queue: VecDeque<Bytes> = VecDeque::new();
    let mut answered = 0;
    let mut seq = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let ended = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the interview took too long"
        );
        tokio::select! {
            _ = tick.tick() => {
                seq += 1;
                let frame = queue.pop_front().unwrap_or_else(|| silence.clone());
                send(&mut ws, audio(seq, frame)).await;
            }
            msg = recv(&mut ws) => {
                match msg.expect("socket open until SessionEnded").payload {
                    Some(ServerPayload::InterviewerState(s))
                        if s.activity == InterviewerActivity::Listening as i32
                            && s.question_index >= 1
                            && queue.is_empty() =>
                    {
                        answered += 1;
                        queue.extend(answer.iter().cloned());
                    }
                    Some(ServerPayload::SessionEnded(e)) => break e,
                    _ => {}
                }
            }
        }
    };
    assert_eq!(
        ended.reason,
        EndReason::InterviewComplete as i32,
        "{}",
        ended.message
    );
    assert_eq!(answered, planned, "each question was answered once");
    let api = Api::new(server.addr());
    wait_feedback(&api, token, &interview.id).await
}

/// `POST /v1/interviews` answering question `index` of `first` again; the
/// request's own role, seniority and texts are the opposite of the first
/// interview's, to show they are not used.
async fn create_retry(
    api: &Api,
    token: Option<&str>,
    first: &str,
    index: u32,
) -> reqwest::Response {
    let mut req = api
        .http
        .post(api.url("/v1/interviews"))
        .json(&CreateInterviewRequest {
            role: Role::ProductManager,
            seniority: Seniority::Senior,
            job_description: Some("Not this one.".into()),
            cv_text: Some("Nor this.".into()),
            question_count: Some(7),
            retry: Some(RetryTarget {
                interview_id: first.into(),
                question_index: index,
            }),
        });
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

/// The error code of a refused request with `status`, and its message.
async fn refused(res: reqwest::Response, status: u16) -> (String, String) {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.unwrap();
    (
        body["error"]["code"].as_str().unwrap().to_owned(),
        body["error"]["message"].as_str().unwrap().to_owned(),
    )
}

async fn get<T: serde::de::DeserializeOwned>(api: &Api, token: &str, path: &str) -> T {
    let res = api
        .http
        .get(api.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

/// The attempts the results of interview `id` list.
async fn attempts(api: &Api, token: &str, id: &str) -> Vec<Attempt> {
    match get::<ResultsResponse>(api, token, &format!("/v1/interviews/{id}/results")).await {
        ResultsResponse::Ready { attempts, .. } => attempts,
        other => panic!("{other:?}"),
    }
}

/// (interview, question index in the first interview, question asked) of
/// each attempt.
fn summary(attempts: &[Attempt]) -> Vec<(&str, u32, &str)> {
    attempts
        .iter()
        .map(|a| {
            (
                a.interview_id.as_str(),
                a.question_index,
                a.feedback.question.as_str(),
            )
        })
        .collect()
}

/// A question as the practice interviewer asked it, without the words it
/// puts before the first and the last question.
fn bare(asked: &str) -> &str {
    ["Let's begin. ", "Here is the last question. "]
        .iter()
        .find_map(|lead| asked.strip_prefix(lead))
        .unwrap_or(asked)
}

#[tokio::test]
async fn a_question_answered_again_asks_only_it_and_both_results_list_every_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let api = Api::new(server.addr());
    let alice = api.register("alice@example.org").await;
    let bob = api.register("bob@example.org").await;

    // The first interview, run to its results.
    let first = api.create_interview(&alice.token, 2).await;
    let first_feedback = run_interview(&server, &alice.token, &first, 2).await;
    assert_eq!(first_feedback.questions.len(), 2);
    let q2 = first_feedback.questions[1].clone();
    assert_eq!(q2.index, 2);
    assert!(q2.answered, "{q2:?}");
    assert!(
        attempts(&api, &alice.token, &first.id).await.is_empty(),
        "nothing answered again yet"
    );

    // Question 2 again: the first interview's set-up, one question.
    let res = create_retry(&api, Some(&alice.token), &first.id, 2).await;
    assert_eq!(res.status(), 201);
    let retry: Interview = res.json().await.unwrap();
    let link = RetryOf {
        interview_id: first.id.clone(),
        question_index: 2,
        question: q2.question.clone(),
    };
    assert_eq!(retry.retry_of.as_ref(), Some(&link));
    assert_eq!(retry.question_count, 1);
    assert_eq!(retry.status, InterviewStatus::Created);
    assert_eq!(
        (retry.role, retry.seniority),
        (first.role, first.seniority),
        "copied from the first interview, not the request"
    );
    assert_eq!(retry.job_description, first.job_description);
    assert_eq!(retry.cv_text, first.cv_text);
    let fetched: Interview = get(&api, &alice.token, &format!("/v1/interviews/{}", retry.id)).await;
    assert_eq!(fetched, retry);
    let page: InterviewPage = get(&api, &alice.token, "/v1/interviews").await;
    let links: Vec<(&str, Option<&RetryOf>)> = page
        .items
        .iter()
        .map(|i| (i.id.as_str(), i.retry_of.as_ref()))
        .collect();
    assert_eq!(
        links,
        [(retry.id.as_str(), Some(&link)), (first.id.as_str(), None)]
    );

    // Its session asks exactly that question, and closes.
    let retry_feedback = run_interview(&server, &alice.token, &retry, 1).await;
    assert_eq!(retry_feedback.questions.len(), 1, "{retry_feedback:?}");
    let asked = &retry_feedback.questions[0];
    assert_eq!(asked.index, 1);
    assert_eq!(bare(&asked.question), bare(&q2.question));
    assert!(asked.answered, "{asked:?}");
    let interviewer: Vec<&str> = retry_feedback
        .transcript
        .iter()
        .filter(|s| s.speaker == Speaker::Interviewer)
        .map(|s| s.text.as_str())
        .collect();
    assert_eq!(
        interviewer.len(),
        3,
        "greeting, question, closing: {interviewer:?}"
    );
    assert!(
        interviewer[0].contains("another go at one question"),
        "{interviewer:?}"
    );
    assert_eq!(interviewer[1], asked.question);
    let first_q1 = bare(&first_feedback.questions[0].question);
    assert!(
        !interviewer.iter().any(|t| t.contains(first_q1)),
        "question 1 is not asked again: {interviewer:?}"
    );

    // Both results list the two attempts, the first answer first.
    let expected = [
        (first.id.as_str(), 2, q2.question.as_str()),
        (retry.id.as_str(), 2, asked.question.as_str()),
    ];
    let of_retry = attempts(&api, &alice.token, &retry.id).await;
    assert_eq!(summary(&of_retry), expected);
    assert_eq!(of_retry[0].feedback, q2, "as stored in the first results");
    assert_eq!(of_retry[1].feedback, *asked, "as stored in the retry's");
    assert_eq!(of_retry[0].created_at_ms, first.created_at_ms);
    assert_eq!(of_retry[1].created_at_ms, retry.created_at_ms);
    assert_eq!(attempts(&api, &alice.token, &first.id).await, of_retry);

    // Refused: someone else's interview, a question it did not ask, no
    // sign-in, an interview that does not exist.
    let (code, _) = refused(
        create_retry(&api, Some(&bob.token), &first.id, 2).await,
        404,
    )
    .await;
    assert_eq!(code, "not_found");
    for index in [0, 3] {
        let (code, message) = refused(
            create_retry(&api, Some(&alice.token), &first.id, index).await,
            400,
        )
        .await;
        assert_eq!(code, "invalid_argument");
        assert!(message.contains("1, 2"), "{message}");
    }
    refused(create_retry(&api, None, &first.id, 2).await, 401).await;
    refused(create_retry(&api, Some(&alice.token), "ffff", 1).await, 404).await;

    // A retry of the retry answers the first interview's question again.
    let res = create_retry(&api, Some(&alice.token), &retry.id, 1).await;
    assert_eq!(res.status(), 201);
    let again: Interview = res.json().await.unwrap();
    assert_eq!(again.retry_of.as_ref(), Some(&link));
    assert_eq!(again.question_count, 1);
    // Without results, it cannot be answered again, and is no attempt yet.
    let (code, message) = refused(
        create_retry(&api, Some(&alice.token), &again.id, 1).await,
        400,
    )
    .await;
    assert_eq!(code, "invalid_argument");
    assert!(message.contains("results"), "{message}");
    assert_eq!(attempts(&api, &alice.token, &first.id).await, of_retry);
    // A retry is an interview: the limit (three) counts it.
    let (code, _) = refused(
        create_retry(&api, Some(&alice.token), &first.id, 1).await,
        403,
    )
    .await;
    assert_eq!(code, "permission_denied");

    // Deleting the first interview leaves its retries, still naming it,
    // with their own answers.
    let res = api
        .http
        .delete(api.url(&format!("/v1/interviews/{}", first.id)))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let kept: Interview = get(&api, &alice.token, &format!("/v1/interviews/{}", retry.id)).await;
    assert_eq!(kept.retry_of.as_ref(), Some(&link));
    assert_eq!(
        summary(&attempts(&api, &alice.token, &retry.id).await),
        [(retry.id.as_str(), 2, asked.question.as_str())]
    );
    let (code, _) = refused(
        create_retry(&api, Some(&alice.token), &first.id, 2).await,
        404,
    )
    .await;
    assert_eq!(code, "not_found");
    server.shutdown().await;
}
