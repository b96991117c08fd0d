# langproc: the API and executor (`serve`) or only the executor (`worker`), one image.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-eng tesseract-ocr-ell tesseract-ocr-fra tesseract-ocr-spa \
        tesseract-ocr-deu tesseract-ocr-ita tesseract-ocr-por tesseract-ocr-nld \
        espeak-ng \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir .

ENV LANGPROC_DATA_DIR=/data \
    LANGPROC_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
VOLUME /data
EXPOSE 8000

# Bind all interfaces: in a container, auth is expected (LANGPROC_AUTH=jwt) or a private network.
CMD ["langproc", "serve", "--host", "0.0.0.0", "--port", "8000"]
